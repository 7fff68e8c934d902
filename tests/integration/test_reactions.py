"""Consumers of committed events: their progress, at-least-once runs, commit order, one runner at a time
(PostgreSQL, across processes), and the buying reactions rerun without changing anything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select, text, update

from commerce.core.database import Database
from commerce.core.identity import Role
from commerce.core.outbox import ConsumerProgress, OutboxEvent, record_event
from commerce.core.transitions import TransitionRecord
from live.events import Event
from live.observability import Metrics
from live.ordering import reactions as ordering_reactions
from live.ordering.reactions import BOUGHT_NOTICES, LEDGER_MIRROR, STOCK_FLIPS
from live.reactions import Consumer, Reactions
from tests.e2e.buying import _buy, _sale, backend, shop
from tests.e2e.world import ok
from tests.support import Client, FakeClock

__all__ = ["backend", "shop"]  # the buying fixtures


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def reactions_on(
    db: Database, clock: FakeClock, *, poll_seconds: float = 0.05, settle_seconds: float = 2.0
) -> Reactions:
    r = Reactions(db, clock, Metrics(), poll_seconds=poll_seconds, settle_seconds=settle_seconds)
    db.on_commit(r.nudge)
    return r


async def write(db: Database, clock: FakeClock, *kinds: str) -> None:
    async with db.transaction() as s:
        for kind in kinds:
            record_event(s, stream="test:1", kind=kind, payload={"kind": kind}, at=clock())


async def progress_of(db: Database, name: str) -> int | None:
    async with db.read() as s:
        return await s.scalar(select(ConsumerProgress.position).where(ConsumerProgress.name == name))


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.seen: list[str] = []
        self.fail_times = fail_times

    async def __call__(self, events: Sequence[Event]) -> None:
        self.seen.extend(e.payload["kind"] for e in events)
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("the reaction failed half way")


async def test_a_consumer_handles_its_kinds_once_and_keeps_its_progress(
    db: Database, clock: FakeClock
) -> None:
    r = reactions_on(db, clock)
    rec = Recorder()
    r.add(Consumer("test-a", frozenset({"a"}), rec))
    await write(db, clock, "a", "b", "a")
    await r.drain()
    assert rec.seen == ["a", "a"]  # other kinds are passed over, in commit order
    async with db.read() as s:
        newest = await s.scalar(select(func.max(OutboxEvent.position)))
    assert await progress_of(db, "test-a") == newest == 3
    await r.drain()
    assert rec.seen == ["a", "a"]  # nothing twice
    # a second process (its own Reactions on the same database) finds the progress where it was
    other = reactions_on(db, clock)
    rec2 = Recorder()
    other.add(Consumer("test-a", frozenset({"a"}), rec2))
    await write(db, clock, "a")
    await other.drain()
    assert rec2.seen == ["a"]


async def test_a_failed_run_is_handled_again_at_least_once(db: Database, clock: FakeClock) -> None:
    r = reactions_on(db, clock)
    rec = Recorder(fail_times=1)
    r.add(Consumer("test-b", frozenset({"a"}), rec))
    await write(db, clock, "a", "a")
    with pytest.raises(RuntimeError):
        await r.drain()
    assert await progress_of(db, "test-b") == 0  # the batch is not done: the progress stays
    await r.drain()
    assert rec.seen == ["a", "a", "a", "a"]  # the whole batch again
    assert await progress_of(db, "test-b") == 2


async def test_the_background_runner_retries_and_is_woken_by_commits(db: Database, clock: FakeClock) -> None:
    r = reactions_on(db, clock, poll_seconds=30)  # only a commit's nudge wakes it within the test
    rec = Recorder(fail_times=1)
    r.add(Consumer("test-c", frozenset({"a"}), rec))
    r.start()
    try:
        await write(db, clock, "a")
        async with asyncio.timeout(5):
            while len(rec.seen) < 1:
                await asyncio.sleep(0.01)
        # it failed the first time (a wake that came meanwhile may already have retried it)
        await write(db, clock, "a")  # the next commit wakes it again: both are handled
        async with asyncio.timeout(5):
            while await progress_of(db, "test-c") != 2:
                await asyncio.sleep(0.01)
        assert rec.seen.count("a") >= 3  # the failed first run, then both events
    finally:
        await r.stop()


async def test_settle_is_bounded_and_leaves_the_rest_to_the_consumer(db: Database, clock: FakeClock) -> None:
    r = reactions_on(db, clock, settle_seconds=0.2)
    gate = asyncio.Event()

    async def slow(events: Sequence[Event]) -> None:
        await gate.wait()

    r.add(Consumer("test-d", frozenset({"a"}), slow))
    await write(db, clock, "a")
    async with asyncio.timeout(2):
        await r.settle()  # returns after 0.2 s without the reaction
    assert await progress_of(db, "test-d") == 0
    gate.set()
    await r.drain()
    assert await progress_of(db, "test-d") == 1


@pytest.fixture
def pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent writers and processes: PostgreSQL (SQLite serves one process)")


async def test_an_event_committed_late_with_a_smaller_id_is_not_skipped(
    pg_only: None, db: Database, clock: FakeClock
) -> None:
    r = reactions_on(db, clock)
    rec = Recorder()
    r.add(Consumer("test-e", frozenset({"early", "late"}), rec))
    async with db.transaction() as slow:
        record_event(slow, stream="test:1", kind="early", payload={"kind": "early"}, at=clock())
        await slow.flush()  # it holds the smaller id, and commits last
        await write(db, clock, "late")
        await r.drain()
        assert rec.seen == ["late"]
    await r.drain()
    assert rec.seen == ["late", "early"]


async def test_one_runner_at_a_time_across_processes(pg_only: None, db_url: str, clock: FakeClock) -> None:
    dbs = [Database(db_url), Database(db_url)]
    try:
        running, most = 0, 0
        handled: list[int] = []

        async def handle(events: Sequence[Event]) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.05)  # long enough for the other process to try
            handled.extend(e.id for e in events)
            running -= 1

        procs = []
        for d in dbs:
            r = reactions_on(d, clock)
            r.add(Consumer("test-f", frozenset({"a"}), handle))
            procs.append(r)
        for _ in range(5):
            await write(dbs[0], clock, "a", "a")
        await asyncio.gather(*(p.drain() for p in procs))
        assert most == 1
        assert len(handled) == 10 and len(set(handled)) == 10  # each once: no run went past the other

        # a runner holding the consumer (its progress row locked) keeps every other one out
        await write(dbs[0], clock, "a")
        async with dbs[1].sessions() as holder, holder.begin():
            await holder.execute(text("SELECT 1 FROM event_consumers WHERE name = 'test-f' FOR UPDATE"))
            blocked = asyncio.ensure_future(procs[0].drain())
            await asyncio.sleep(0.3)
            assert not blocked.done() and len(handled) == 10
        async with asyncio.timeout(5):
            await blocked
        assert len(handled) == 11
    finally:
        for d in dbs:
            await d.dispose()


async def test_the_buying_reactions_rerun_from_the_start_change_nothing(shop: Client) -> None:
    """At least once: rerunning every reaction from the first event (a crash before any progress was
    kept) flips nothing again and writes no event; the notices are published again (harmless)."""
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=2, limit=1)
    await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    order = await ok(await _buy(c, rid, lid, "u2", "k2", sku), 201)
    await ok(await c.call("POST", f"/orders/{order['id']}/cancel", ("u2", Role.VIEWER), json={}))
    await ok(await _buy(c, rid, lid, "u3", "k3", sku), 201)
    await c.services.reactions.drain()

    async def facts() -> tuple[int, int, str]:
        async with c.services.db.read() as s:
            events = await s.scalar(select(func.count()).select_from(OutboxEvent))
            flips = await s.scalar(
                select(func.count())
                .select_from(TransitionRecord)
                .where(TransitionRecord.entity == "listing", TransitionRecord.actor_id == "system")
            )
        cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
        return int(events or 0), int(flips or 0), cart["listings"][0]["status"]

    before = await facts()
    assert before[1:] == (3, "sold_out")  # sold out, back on sale, sold out
    async with c.services.db.transaction() as s:
        await s.execute(
            update(ConsumerProgress)
            .where(ConsumerProgress.name.in_([STOCK_FLIPS, LEDGER_MIRROR, BOUGHT_NOTICES]))
            .values(position=0)
        )
    metrics = Metrics()
    restarted = Reactions(c.services.db, c.services.clock, metrics)  # as a process started again
    for consumer in ordering_reactions.consumers(c.services):
        restarted.add(consumer)
    await restarted.drain()
    again = metrics.registry.get_sample_value("yellowcart_reactions_handled_total", {"consumer": STOCK_FLIPS})
    assert again is not None and again >= 4  # it did run them all again
    assert await facts() == before
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["sold"] == 2
