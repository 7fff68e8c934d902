"""Two real server processes on one PostgreSQL and one Redis behave as one room channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.channel import Viewer
from tests.e2e.cluster import Cluster, running_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


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
        await asyncio.to_thread(c.redis.stop)
        await asyncio.sleep(0.3)
        await _post(b, f"/rooms/{rid}/listings/{lids[2]}/status", streamer, {"status": "on_sale"})
        await asyncio.to_thread(c.redis.start)
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
