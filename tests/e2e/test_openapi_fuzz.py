"""Property-based fuzzing of every documented operation against a real server process (schemathesis).

A server runs per back-end (SQLite, PostgreSQL) on demo data. schemathesis runs with every check it has
(``--checks all``: no 500, status codes, content types, headers and schemas as documented, schema-valid
requests accepted and invalid ones refused, 405 with ``Allow`` for undocumented methods, authentication
not ignored, deleted resources gone...) and all its phases (examples, coverage, fuzzing, stateful), once
for each kind of caller: a guest, a viewer, a shop operator and staff (on PostgreSQL the shop operator
only). It must find nothing.

The run is the installed schemathesis's own command line (``python -m schemathesis.cli run``), so what CI
runs is exactly what a person runs by hand; ``YC_FUZZ_EXAMPLES`` (default 5) bounds the examples per
operation. The suite runs a fixed seed (``YC_FUZZ_SEED``, default below), so CI is repeatable; set
``YC_FUZZ_SEED=random`` (and more examples) to explore new inputs, as a person hunting bugs would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import (
    IN_CI,
    TEST_SECRET,
    create_pg_database,
    drop_pg_database,
    postgres_base_url,
    reachable,
    with_database,
)

MAX_EXAMPLES = int(os.environ.get("YC_FUZZ_EXAMPLES", "5"))
DEFAULT_SEED = "20261202"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    proc: subprocess.Popen[bytes]
    backend: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'fuzz.db'}"
    base = postgres_base_url()
    if not reachable(base, 5432):
        if IN_CI:
            pytest.fail("PostgreSQL is required in CI")
        pytest.skip("PostgreSQL not reachable")
    import asyncio

    name = f"yellowcart_fuzz_{os.getpid()}"
    asyncio.run(create_pg_database(base, name))
    return with_database(base, name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database(request.param, tmp),
        "JWT_SECRET": TEST_SECRET,
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "UPLOAD_DIR": str(tmp / "uploads"),
    }
    env.pop("REDIS_URL", None)
    cli = [sys.executable, "-m", "live.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    seeded = subprocess.run([*cli, "seed-demo", "--json"], env=env, check=True, capture_output=True)
    demo = json.loads(seeded.stdout)
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("fuzz server did not start: " + (tmp / "server.log").read_text()[-2000:])
        time.sleep(0.1)
    yield Server(url, {k: v["token"] for k, v in demo["tokens"].items()}, proc, request.param)
    proc.terminate()  # SIGTERM: graceful shutdown (uvicorn re-raises the signal once it is done)
    assert proc.wait(timeout=15) in (0, -15)
    log.close()
    assert "Application shutdown complete" in (tmp / "server.log").read_text()
    if request.param == "postgresql":
        import asyncio

        asyncio.run(drop_pg_database(postgres_base_url(), f"yellowcart_fuzz_{os.getpid()}"))
    errors = [line for line in (tmp / "server.log").read_text().splitlines() if '"level": "ERROR"' in line]
    assert not errors, "server logged errors:\n" + "\n".join(errors[:5])


# the callers: no token, a viewer, a shop operator and platform staff (the demo data's users); on
# PostgreSQL (the same API over another database) the shop operator, who writes the most, to bound CI time
CALLERS = {"guest": None, "viewer": "viewer_1", "shop_operator": "shop_operator", "staff": "platform_staff"}
ON_POSTGRESQL = ("shop_operator",)


def _schemathesis(server: Server, caller: str | None, report: Path) -> subprocess.CompletedProcess[str]:
    cli = [sys.executable, "-m", "schemathesis.cli", "--no-color", "run", f"{server.url}/openapi.json"]
    cli += ["--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--workers", "1"]
    cli += ["--request-timeout", "30", "--report", "junit", "--report-junit-path", str(report)]
    seed = os.environ.get("YC_FUZZ_SEED", DEFAULT_SEED)
    if seed != "random":
        cli += ["--seed", seed]
    if caller is not None:
        cli += ["--header", f"Authorization: Bearer {server.tokens[caller]}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    # run in the report's folder: schemathesis keeps its own state files where it runs
    return subprocess.run(cli, env=env, cwd=report.parent, capture_output=True, text=True, timeout=600)


def test_schemathesis_with_every_check_finds_nothing(fuzz_server: Server, tmp_path: Path) -> None:
    schema = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    assert sum(len(ops) for ops in schema["paths"].values()) >= 80
    failed: list[str] = []
    for name, user in CALLERS.items():
        if fuzz_server.backend == "postgresql" and name not in ON_POSTGRESQL:
            continue
        run = _schemathesis(fuzz_server, user, tmp_path / f"{name}.xml")
        if run.returncode != 0:
            output = run.stdout[-12000:] + run.stderr[-2000:]
            failed.append(f"=== as {name} (exit {run.returncode}) ===\n{output}")
    assert not failed, "\n\n".join(failed)
