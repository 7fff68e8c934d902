"""Resume and gap detection on two real server processes with PostgreSQL and Redis, reproducing what a
reliability tester saw: a viewer is given every state event it missed, or is told it must take a
snapshot (``recovered: false``); never a silent gap. The room's seq in the database is the truth every
check compares with."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.channel import Viewer
from tests.e2e.cluster import Cluster, running_cluster
from tests.e2e.lossy_redis import LossyRedis

RELAY_LOCK = 0x59434F42  # the outbox relay's advisory lock (live/events.py)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("resume")) as c:
        r = httpx.post(f"{c.http[0]}/rooms/{c.room_id}/start", headers=c.auth("streamer"), timeout=10)
        assert r.status_code == 200, r.text
        yield c


def _listing(c: Cluster) -> int:
    cart = httpx.get(f"{c.http[0]}/rooms/{c.room_id}/cart", timeout=10).json()
    return int(cart["listings"][0]["id"])


_prices = iter(range(1000, 10**6))


async def _flip(c: Cluster, server: int) -> int:
    """A state event: a new live price for the room's first listing, through ``server``."""
    price = next(_prices)
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.put(
            f"{c.http[server]}/rooms/{c.room_id}/listings/{_listing(c)}/price",
            headers=c.auth("streamer"),
            json={"live_price_minor": price},
        )
    assert r.status_code == 200, r.text
    return price


async def _db_seq(c: Cluster) -> int:
    return int((await c.fetch("SELECT event_seq FROM live_rooms WHERE id = $1", c.room_id))[0][0])


@contextlib.asynccontextmanager
async def _connect(url: str) -> AsyncIterator[tuple[dict[str, Any], Viewer]]:
    """A viewer; yields its first frame as sent and the viewer that applied it."""
    async with Viewer.connect(url) as v:
        yield v.first, v


async def _away(c: Cluster, server: int) -> int:
    """A viewer joins on ``server`` and leaves; returns the seq it had."""
    async with Viewer.connect(f"{c.ws[server]}/ws/rooms/{c.room_id}") as v:
        return v.seq


async def _published(c: Cluster, seq: int) -> None:
    """Wait until a watcher sees ``seq`` (the relay published it)."""
    async with Viewer.connect(f"{c.ws[0]}/ws/rooms/{c.room_id}") as w:
        await w.until(lambda w: w.seq >= seq, timeout=10)


@pytest.mark.parametrize("loss", ["flush", "restart"])
async def test_a_resume_after_redis_lost_its_data_gets_every_missed_event(
    cluster: Cluster, loss: str
) -> None:
    c = cluster
    for server in (0, 1):  # the viewer comes back to either process
        last = await _away(c, 1 - server)
        prices = [await _flip(c, 1), await _flip(c, 0)]
        await _published(c, last + 2)
        if loss == "flush":
            await asyncio.to_thread(c.redis.flush)
        else:
            await asyncio.to_thread(c.redis.restart)
        truth = await _db_seq(c)
        assert truth == last + 2
        async with _connect(f"{c.ws[server]}/ws/rooms/{c.room_id}?since={last}") as (first, back):
            # the broker holds nothing now; the database still has every event: a full resume
            assert first["t"] == "resume" and first["recovered"] is True, first
            assert first["seq"] == truth
            assert [(e["seq"], e["live_price_minor"]) for e in first["state"]] == [
                (last + 1, prices[0]),
                (last + 2, prices[1]),
            ]
            # and the room goes on: the next event follows without a gap
            await _flip(c, 1 - server)
            await back.until(lambda v, after=truth: v.seq > after, timeout=10)
            assert [e["seq"] for e in back.state] == list(range(last + 1, truth + 2))


async def test_a_resume_on_a_fresh_process_gets_events_the_relay_has_not_published(cluster: Cluster) -> None:
    c = cluster
    last = await _away(c, 0)
    lock = await asyncpg.connect(c.db_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", RELAY_LOCK)  # every relay waits: nothing published
        prices = [await _flip(c, 0) for _ in range(3)]
        assert await _db_seq(c) == last + 3
        await asyncio.to_thread(c.kill, 1)
        await asyncio.to_thread(c.start, 1)  # a freshly started process, no viewers in the room yet
        async with _connect(f"{c.ws[1]}/ws/rooms/{c.room_id}?since={last}") as (first, back):
            assert first["t"] == "resume" and first["recovered"] is True, first
            assert first["seq"] == last + 3
            assert [(e["seq"], e["live_price_minor"]) for e in first["state"]] == [
                (last + 1 + i, p) for i, p in enumerate(prices)
            ]
            await asyncio.sleep(2)
            await lock.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK)
            # the late publications are no news to it, and what follows arrives in order
            await _flip(c, 0)
            await back.until(lambda v: v.seq >= last + 4, timeout=10)
            assert [e["seq"] for e in back.state] == [last + 1, last + 2, last + 3, last + 4]
    finally:
        await lock.close()


async def test_a_lost_last_message_is_repaired_within_the_position_check(cluster: Cluster) -> None:
    c = cluster
    async with LossyRedis(c.redis.port).running() as proxy:
        await asyncio.to_thread(c.kill, 1)
        await asyncio.to_thread(c.start, 1, REDIS_URL=proxy.url)  # process 1 reaches Redis through it
        try:
            async with (
                Viewer.connect(f"{c.ws[0]}/ws/rooms/{c.room_id}") as a,
                Viewer.connect(f"{c.ws[1]}/ws/rooms/{c.room_id}") as b,
            ):
                start = b.seq
                lost = start + 5
                proxy.drop = lambda channel, data: data.startswith(b"s:%d:" % lost)
                for _ in range(5):  # a burst, then the room goes quiet
                    await _flip(c, 0)
                await a.until(lambda v: v.seq >= lost, timeout=10)
                seen = time.monotonic()
                await b.until(lambda v: v.seq >= lost, timeout=10)
                repaired_in = time.monotonic() - seen
                assert len(proxy.dropped) == 1
                assert [e["seq"] for e in b.state] == list(range(start + 1, lost + 1))
                # the position check runs every 2 s (the default): repaired within that, plus a tick
                assert repaired_in < 3.5, repaired_in
            async with httpx.AsyncClient(timeout=10) as h:
                metrics = (await h.get(f"{c.http[1]}/metrics")).text
            assert 'yellowcart_ws_position_repairs_total{source="broker"} 1.0' in metrics
        finally:
            await asyncio.to_thread(c.kill, 1)
            await asyncio.to_thread(c.start, 1)


async def test_a_since_beyond_the_room_gets_a_snapshot(cluster: Cluster) -> None:
    c = cluster
    truth = await _db_seq(c)
    for server in (0, 1):
        for since in (truth + 1, 99_999_999):
            async with _connect(f"{c.ws[server]}/ws/rooms/{c.room_id}?since={since}") as (first, _):
                assert first["t"] == "snapshot" and first["recovered"] is False
                assert first["seq"] == truth
