"""Property-based fuzzing of every documented operation against a real server process (schemathesis).

A server runs per back-end (SQLite, PostgreSQL) on demo data; every operation is called with generated
valid and invalid input, under the token of the role the operation is meant for. No answer may be a 500,
and every answer must match the status codes, content types and schemas the OpenAPI document declares.
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
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import (
    IN_CI,
    TEST_SECRET,
    create_pg_database,
    drop_pg_database,
    postgres_base_url,
    reachable,
    with_database,
)


@schemathesis.serializer("application/sdp")
def _sdp(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP offers are SDP text; the fuzzer's strings go as they are (a bad offer must be a 4xx)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


MAX_EXAMPLES = int(os.environ.get("YC_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    proc: subprocess.Popen[bytes]


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
    yield Server(url, {k: v["token"] for k, v in demo["tokens"].items()}, proc)
    proc.terminate()  # SIGTERM: graceful shutdown (uvicorn re-raises the signal once it is done)
    assert proc.wait(timeout=15) in (0, -15)
    log.close()
    assert "Application shutdown complete" in (tmp / "server.log").read_text()
    if request.param == "postgresql":
        import asyncio

        asyncio.run(drop_pg_database(postgres_base_url(), f"yellowcart_fuzz_{os.getpid()}"))
    errors = [line for line in (tmp / "server.log").read_text().splitlines() if '"level": "ERROR"' in line]
    assert not errors, "server logged errors:\n" + "\n".join(errors[:5])


# the role each tag's operations are meant for; other roles are covered by the authorization tests
ROLE_FOR_TAG = {
    "shops": "shop_operator",
    "catalog": "shop_operator",
    "rooms": "streamer",
    "cart": "streamer",
    "staff": "platform_staff",
    "moderation": "streamer",
    "identity": "viewer_1",
    "operations": "viewer_1",
    "streams": "streamer",
}


def _fuzzer(operation: Any, token: str) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        # schemathesis fills the bearer scheme with random values; send a real token instead
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return run


def test_no_server_errors_and_schema_conformance(fuzz_server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 38
    for operation in operations:
        tags = operation.definition.raw.get("tags", ["operations"])
        token = fuzz_server.tokens[ROLE_FOR_TAG.get(tags[0], "viewer_1")]
        try:
            _fuzzer(operation, token)()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
