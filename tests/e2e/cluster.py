"""Real server processes on one PostgreSQL database and a private Redis: the deployment shape of a
multi-process Yellowcart, for tests that restart Redis, kill a server or delay its relay.

Each cluster runs its own ``redis-server`` on a free port (nothing on disk), so a test may flush or
restart it without touching the Redis other tests use. Servers are ``python -m live.cli serve``
processes; ``kill`` sends a signal (SIGKILL by default, a crash) and ``start`` brings one back on the
same port with the same settings.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
import redis

from tests.e2e.channel import free_port
from tests.support import (
    IN_CI,
    TEST_SECRET,
    create_pg_database,
    drop_pg_database,
    postgres_base_url,
    reachable,
    with_database,
)

CLI = [sys.executable, "-m", "live.cli"]
T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that also works where a loop already runs in this thread (Playwright's sync API
    keeps one): the coroutine then runs on a loop of its own in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class PrivateRedis:
    """A redis-server of the test's own, restartable and flushable."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: self.client().ping(), 10, "redis to start")

    def stop(self) -> None:
        """Stop at once, keeping nothing (as a crashed Redis without persistence)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self, down_seconds: float = 0.3) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def flush(self) -> None:
        self.client().flushall()


@dataclass
class Server:
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    out: IO[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    env: dict[str, str]
    redis: PrivateRedis
    servers: list[Server]
    tokens: dict[str, str]
    room_id: int
    demo: dict[str, Any]
    db_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def http(self) -> list[str]:
        return [s.http for s in self.servers]

    @property
    def ws(self) -> list[str]:
        return [s.ws for s in self.servers]

    @property
    def logs(self) -> list[Path]:
        return [s.log for s in self.servers]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def start(self, i: int, **env: str) -> None:
        """Start server ``i`` (again) and wait until it is ready; ``env`` overrides settings for it."""
        s = self.servers[i]
        if s.out is not None:
            s.out.close()
        s.out = open(s.log, "ab")  # noqa: SIM115 - closed with the process
        s.proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(s.port)],
            env={**self.env, **env},
            stdout=s.out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{s.http}/readyz", timeout=1).status_code == 200:
                    return
            if s.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"server {s.http} did not start: {s.log.read_text()[-3000:]}")

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        s = self.servers[i]
        if s.proc is not None:
            s.proc.send_signal(sig)
            s.proc.wait(timeout=30)
            s.proc = None

    def stop_all(self) -> None:
        for i, s in enumerate(self.servers):
            if s.proc is not None:
                self.kill(i, signal.SIGTERM)
            if s.out is not None:
                s.out.close()
                s.out = None

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        """Run one statement on the cluster's database (to hold locks or read the truth)."""
        import asyncpg

        conn = await asyncpg.connect(self.db_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    def sql(self, query: str, *args: Any) -> list[Any]:
        """``fetch`` for code outside an event loop."""
        return run_sync(self.fetch(query, *args))


def require_services() -> None:
    if not reachable(postgres_base_url(), 5432):
        if IN_CI:
            pytest.fail("PostgreSQL is required in CI")
        pytest.skip("PostgreSQL not reachable")


@contextlib.contextmanager
def running_cluster(tmp: Path, *, servers: int = 2, embedded: bool = False, **env: str) -> Iterator[Cluster]:
    """A migrated database with the demo data, a private Redis and ``servers`` server processes.
    ``embedded``: the defaults of a bare machine instead (one SQLite file, the in-process broker, no
    Redis), as ``make run`` serves them."""
    base = postgres_base_url()
    name = f"yellowcart_cl_{os.getpid()}_{free_port()}"
    if embedded:
        db_url = f"sqlite:///{tmp}/yellowcart.db"
    else:
        require_services()
        run_sync(create_pg_database(base, name))
        db_url = with_database(base, name)
    private = PrivateRedis(tmp)
    private.start()
    ports = [free_port() for _ in range(servers)]
    if env.get("PUBLIC_URL") == "auto":  # the first server's own URL (the demo's pictures point there)
        env = {**env, "PUBLIC_URL": f"http://127.0.0.1:{ports[0]}"}
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": private.url,
        "JWT_SECRET": TEST_SECRET,
        "LOG_LEVEL": "INFO",
        "OUTBOX_POLL_SECONDS": "0.2",
        "REDIS_PREFIX": "yc",
        "UPLOAD_DIR": str(tmp / "uploads"),
        **env,
    }
    if embedded:
        del full_env["REDIS_URL"]
    cluster: Cluster | None = None
    try:
        subprocess.run([*CLI, "db", "upgrade"], env=full_env, check=True, capture_output=True)
        demo = json.loads(
            subprocess.run(
                [*CLI, "seed-demo", "--json"], env=full_env, check=True, capture_output=True
            ).stdout
        )
        cluster = Cluster(
            env=full_env,
            redis=private,
            servers=[Server(ports[i], tmp / f"server{i}.log") for i in range(servers)],
            tokens={k: v["token"] for k, v in demo["tokens"].items()},
            room_id=demo["room_id"],
            demo=demo,
            db_url=db_url.replace("postgresql+asyncpg", "postgresql"),
        )
        for i in range(servers):
            cluster.start(i)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop_all()
        private.stop()
        if not embedded:
            run_sync(drop_pg_database(base, name))
