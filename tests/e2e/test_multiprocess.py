"""Two real server processes on one PostgreSQL and one Redis behave as one room channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.channel import Viewer, free_port
from tests.support import (
    IN_CI,
    TEST_SECRET,
    create_pg_database,
    drop_pg_database,
    postgres_base_url,
    reachable,
    redis_url,
    with_database,
)

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


@dataclass
class Cluster:
    http: list[str]
    ws: list[str]
    tokens: dict[str, str]
    room_id: int
    logs: list[Path]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"server {url} did not start: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = postgres_base_url()
    if not (reachable(base, 5432) and reachable(redis_url(), 6379)):
        if IN_CI:
            pytest.fail("PostgreSQL and Redis are required in CI")
        pytest.skip("PostgreSQL or Redis not reachable")
    name = f"yellowcart_mp_{os.getpid()}"
    asyncio.run(create_pg_database(base, name))
    tmp = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "DATABASE_URL": with_database(base, name),
        "REDIS_URL": redis_url(),
        "JWT_SECRET": TEST_SECRET,
        "LOG_LEVEL": "INFO",
        "OUTBOX_POLL_SECONDS": "0.2",
        "REDIS_PREFIX": f"yctest{os.getpid()}",
    }
    cli = [sys.executable, "-m", "live.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = json.loads(
        subprocess.run([*cli, "seed-demo", "--json"], env=env, check=True, capture_output=True).stdout
    )
    procs, http, ws, logs = [], [], [], []
    for i in range(2):
        port = free_port()
        log = tmp / f"server{i}.log"
        out = open(log, "wb")  # noqa: SIM115 - closed with the process
        procs.append(
            (
                subprocess.Popen(
                    [*cli, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
                ),
                out,
            )
        )
        http.append(f"http://127.0.0.1:{port}")
        ws.append(f"ws://127.0.0.1:{port}")
        logs.append(log)
    for (proc, _), url, log in zip(procs, http, logs, strict=True):
        _wait_healthy(url, proc, log)
    tokens = {k: v["token"] for k, v in demo["tokens"].items()}
    yield Cluster(http, ws, tokens, demo["room_id"], logs)
    for proc, out in procs:
        proc.terminate()
        proc.wait(timeout=20)
        out.close()
    asyncio.run(drop_pg_database(base, name))


def _auth(c: Cluster, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {c.tokens[who]}"}


async def _post(url: str, path: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.post(f"{url}{path}", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


@contextlib.asynccontextmanager
async def _viewers(urls: list[str]) -> AsyncIterator[list[Viewer]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Viewer.connect(u)) for u in urls]


async def test_two_processes_one_room(cluster: Cluster) -> None:
    c = cluster
    rid = c.room_id
    a, b = c.http
    streamer, staff = _auth(c, "streamer"), _auth(c, "platform_staff")
    await _post(a, f"/rooms/{rid}/start", streamer)
    async with httpx.AsyncClient() as h:
        cart = (await h.get(f"{a}/rooms/{rid}/cart")).json()
    lids = [x["id"] for x in cart["listings"]]
    fan = c.tokens["viewer_1"]
    urls = [f"{c.ws[i % 2]}/ws/rooms/{rid}" for i in range(6)]
    urls[0] += f"?token={fan}"
    async with _viewers(urls) as viewers:
        start_seq = viewers[0].seq
        assert all(v.seq == start_seq for v in viewers)
        # listing flips through both processes: one sequence per room, in order, everywhere
        moves = [("on_sale", a), ("sold_out", b), ("on_sale", a), ("off", b)]
        for status, url in moves:
            await _post(url, f"/rooms/{rid}/listings/{lids[0]}/status", streamer, {"status": status})
        expected = list(range(start_seq + 1, start_seq + 5))
        for v in viewers:
            await v.until(lambda v: len(v.state) >= 4, timeout=10)
            assert [e["seq"] for e in v.state] == expected
            assert [e["status"] for e in v.state] == [m[0] for m in moves]
        # danmaku sent on process A reaches viewers on process B; counts add up over both
        await viewers[0].send({"t": "chat", "text": "cross-process hello"})
        for v in viewers:
            await v.until(lambda v: any(m["text"] == "cross-process hello" for m in v.chat), timeout=10)
        await viewers[1].send({"t": "like", "n": 3})
        await viewers[2].send({"t": "like", "n": 4})
        for v in viewers:
            await v.until(lambda v: v.counts.get("likes") == 7 and v.counts.get("online") == 6, timeout=10)

        # a viewer drops, misses events, and resumes on the other process with nothing lost
        dropped = viewers[5]
        last = dropped.seq
        await dropped.ws.close()
        await _post(a, f"/rooms/{rid}/listings/{lids[1]}/status", streamer, {"status": "on_sale"})
        await _post(a, f"/rooms/{rid}/listings/{lids[1]}/status", streamer, {"status": "sold_out"})
        await viewers[0].until(lambda v: v.seq == last + 2, timeout=10)
        async with Viewer.connect(f"{c.ws[0]}/ws/rooms/{rid}?since={last}") as back:
            assert back.other == [] and [e["seq"] for e in back.state] == [last + 1, last + 2]

        # Redis restarts mid-room (losing everything it held): events made meanwhile still arrive
        await asyncio.to_thread(
            subprocess.run, ["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True
        )
        await asyncio.sleep(0.3)
        await _post(b, f"/rooms/{rid}/listings/{lids[2]}/status", streamer, {"status": "on_sale"})
        await asyncio.to_thread(subprocess.run, REDIS_START, check=True)
        await _post(a, f"/rooms/{rid}/listings/{lids[2]}/status", streamer, {"status": "sold_out"})
        live_viewers = viewers[:5]
        for v in live_viewers:
            await v.until(lambda v: v.seq >= last + 4, timeout=20)
            assert [e["seq"] for e in v.state] == list(range(start_seq + 1, last + 5))
        # staff force-end reaches every viewer on both processes, then the sockets close with 4000
        await _post(b, f"/staff/rooms/{rid}/force-end", staff, {"reason": "test over"})
        for v in live_viewers:
            assert await v.closed(timeout=10) == 4000
            assert v.state[-1]["state"] == "force_ended"
    logs = "\n".join(p.read_text() for p in c.logs)
    assert "redis broker reconnected" in logs
