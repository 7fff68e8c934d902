"""Reactions to committed events: everything that must follow a business fact (a sold-out flip, a
notice, cutting a stream, telling the stock ledger) is a consumer of the outbox.

An action writes its events into the outbox in its own transaction. After the commit:

1. The sequencer gives every committed event a position in commit order (outbox ids are handed out at
   insert, so a transaction that commits late can hold a smaller id than events already handled;
   positions are assigned only to what has committed, by one sequencer at a time).
2. Each consumer reads the events of the kinds it wants after its own progress (a row of
   ``event_consumers``: name -> position of the last event handled), handles them, then moves its
   progress on. A crash before the progress moved means the events are handled again: consumers run
   at least once and are written to be idempotent (they derive what to do from the database as it is
   now, or repeat a harmless call). A crash between a commit and its reaction only delays it.
3. One runner per consumer at a time across processes: on PostgreSQL the consumer's progress row is
   locked for the run (another process waits, then continues from the progress it finds); SQLite
   serves one process, where an in-process lock does.

Consumers are woken at once after a commit on this process (``Database.on_commit``) and poll at
``OUTBOX_POLL_SECONDS`` for commits made elsewhere. An action that answers with what its reactions
change (the caller reads its own writes) may ``settle``: run the reactions now, bounded in time; the
reaction is still the consumer's, and what settle does not finish the consumer finishes later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.outbox import ConsumerProgress, OutboxEvent
from live.events import Event
from live.observability import Metrics

log = logging.getLogger("yellowcart.reactions")

_SEQUENCER_LOCK_KEY = 0x59435351  # "YCSQ": one sequencer at a time across processes

Handler = Callable[[Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """``handle`` gets the committed events of ``kinds`` in commit order, a batch at a time; it must be
    idempotent (it may see an event again after a crash) and raise to have the batch retried."""

    name: str
    kinds: frozenset[str]
    handle: Handler


class Reactions:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        metrics: Metrics,
        *,
        poll_seconds: float = 1.0,
        batch: int = 200,
        settle_seconds: float = 2.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch = batch
        self.settle_seconds = settle_seconds
        self._consumers: dict[str, Consumer] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._seq_lock = asyncio.Lock()
        self._seq_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._ensured: set[str] = set()
        self._seen: dict[str, int] = {}  # per consumer: the position this process last caught up to

    @property
    def names(self) -> list[str]:
        return list(self._consumers)

    def add(self, consumer: Consumer) -> None:
        if consumer.name in self._consumers:
            raise ValueError(f"consumer {consumer.name!r} is already registered")
        self._consumers[consumer.name] = consumer
        self._locks[consumer.name] = asyncio.Lock()
        self._wakes[consumer.name] = asyncio.Event()

    def nudge(self) -> None:
        """Something committed events on this process: sequence them and wake the consumers."""
        self._seq_wake.set()

    # --- sequencing ---------------------------------------------------------------------------------

    async def sequence(self) -> int:
        """Give committed events without a position the next positions, in id order; returns how many."""
        total = 0
        async with self._seq_lock:
            while True:
                n = await self._sequence_batch()
                total += n
                if n < 1000:
                    return total

    async def _sequence_batch(self) -> int:
        async with self._db.transaction() as s:
            if self._db.dialect == "postgresql":
                await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEQUENCER_LOCK_KEY})
            ids = list(
                await s.scalars(
                    select(OutboxEvent.id)
                    .where(OutboxEvent.position.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(1000)
                )
            )
            if not ids:
                return 0
            last = int(await s.scalar(select(func.coalesce(func.max(OutboxEvent.position), 0))) or 0)
            await s.execute(
                update(OutboxEvent),
                [{"id": i, "position": last + n} for n, i in enumerate(ids, start=1)],
            )
        return len(ids)

    # --- consuming ----------------------------------------------------------------------------------

    async def run(self, name: str) -> int:
        """Run consumer ``name`` until it has handled every sequenced event; returns how many it handled."""
        consumer = self._consumers[name]
        total = 0
        async with self._locks[name]:
            await self._ensure(name)
            if await self._newest() <= self._seen.get(name, -1):
                return 0  # nothing sequenced since this process last caught up: no lock taken
            while True:
                handled, more, upto = await self._run_batch(consumer)
                total += handled
                if not more:
                    self._seen[name] = upto
                    return total

    async def _newest(self) -> int:
        async with self._db.read() as s:
            return int(await s.scalar(select(func.coalesce(func.max(OutboxEvent.position), 0))) or 0)

    async def _run_batch(self, consumer: Consumer) -> tuple[int, bool, int]:
        """Handle the consumer's next batch: how many events, whether more may follow, its progress."""
        if self._db.dialect == "postgresql":
            # the progress row stays locked while the batch is handled: one runner across processes
            async with self._db.sessions() as s, s.begin():
                progress = await self._progress(s, consumer.name, lock=True)
                events, upto, more = await self._next(s, consumer, progress.position)
                if upto == progress.position:
                    return 0, False, upto
                await self._handle(consumer, events)
                progress.position, progress.updated_at = upto, self._clock()
            return len(events), more, upto
        # SQLite: one process; the in-process lock is held by the caller
        async with self._db.read() as s:
            progress = await self._progress(s, consumer.name, lock=False)
            events, upto, more = await self._next(s, consumer, progress.position)
        if upto == progress.position:
            return 0, False, upto
        await self._handle(consumer, events)
        async with self._db.transaction() as s:
            await s.execute(
                update(ConsumerProgress)
                .where(ConsumerProgress.name == consumer.name)
                .values(position=upto, updated_at=self._clock())
            )
        return len(events), more, upto

    async def _progress(self, s: AsyncSession, name: str, *, lock: bool) -> ConsumerProgress:
        stmt = select(ConsumerProgress).where(ConsumerProgress.name == name)
        progress = await s.scalar(stmt.with_for_update() if lock else stmt)
        assert progress is not None, "registered by _ensure"
        return progress

    async def _ensure(self, name: str) -> None:
        """A consumer new to this database starts at the beginning (its handler is idempotent); its
        progress row is inserted once, whoever gets there first. (Migration 0011 started the first
        consumers at the end of the events that were there.)"""
        if name in self._ensured:
            return
        async with self._db.transaction() as w:
            insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
            await w.execute(
                insert(ConsumerProgress)
                .values(name=name, position=0, updated_at=self._clock())
                .on_conflict_do_nothing(index_elements=[ConsumerProgress.name])
            )
        self._ensured.add(name)

    async def _next(self, s: AsyncSession, consumer: Consumer, after: int) -> tuple[list[Event], int, bool]:
        """The consumer's next events after ``after``, the position its progress moves to once they are
        handled, and whether more may follow. Every position up to the newest one seen has committed
        (the sequencer assigns them in order, one transaction at a time)."""
        newest = int(await s.scalar(select(func.coalesce(func.max(OutboxEvent.position), 0))) or 0)
        if newest <= after:
            return [], after, False
        rows = list(
            await s.scalars(
                select(OutboxEvent)
                .where(
                    OutboxEvent.position > after,
                    OutboxEvent.position <= newest,
                    OutboxEvent.kind.in_(sorted(consumer.kinds)),
                )
                .order_by(OutboxEvent.position)
                .limit(self._batch)
            )
        )
        events = [Event(r.id, r.stream, r.kind, r.seq, dict(r.payload), r.created_at) for r in rows]
        if len(rows) == self._batch:
            last = rows[-1].position
            assert last is not None
            return events, last, True
        return events, newest, False

    async def _handle(self, consumer: Consumer, events: list[Event]) -> None:
        if not events:
            return
        await consumer.handle(events)
        self._metrics.reactions_handled.labels(consumer.name).inc(len(events))

    # --- running ------------------------------------------------------------------------------------

    async def drain(self, names: Iterable[str] | None = None) -> None:
        """Sequence and run the consumers (all, or ``names``) until nothing new is left; the events
        their own reactions commit are handled too."""
        chosen = list(names) if names is not None else self.names
        while True:
            await self.sequence()
            handled = 0
            for name in chosen:
                handled += await self.run(name)
            if not handled and not await self._unsequenced():
                return

    async def _unsequenced(self) -> bool:
        async with self._db.read() as s:
            return (
                await s.scalar(select(OutboxEvent.id).where(OutboxEvent.position.is_(None)).limit(1))
            ) is not None

    async def settle(self, names: Iterable[str] | None = None) -> None:
        """Run the reactions to what this process just committed now, for at most ``settle_seconds``,
        so the caller's answer shows them. What is not done by then (a failure, a slow provider, a
        busy consumer) is left to the consumers' own runs: nothing is lost, only later."""
        try:
            async with asyncio.timeout(self.settle_seconds):
                await self.drain(names)
        except TimeoutError:
            log.warning("reactions not done after %.1f s; the consumers finish them", self.settle_seconds)
        except Exception:
            log.warning("reactions failed; the consumers retry them", exc_info=True)

    def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [asyncio.create_task(self._sequencer_loop(), name="reactions-sequencer")]
        self._tasks += [
            asyncio.create_task(self._consumer_loop(name), name=f"reactions-{name}") for name in self.names
        ]

    async def stop(self) -> None:
        self._stopping = True
        self._seq_wake.set()
        for wake in self._wakes.values():
            wake.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _sleep(self, wake: asyncio.Event, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
        wake.clear()

    async def _sequencer_loop(self) -> None:
        while not self._stopping:
            try:
                sequenced = await self.sequence()
            except Exception:
                log.exception("sequencing committed events failed; will retry")
                sequenced = 0
            if sequenced:
                for wake in self._wakes.values():
                    wake.set()
            await self._sleep(self._seq_wake, self._poll)

    async def _consumer_loop(self, name: str) -> None:
        while not self._stopping:
            try:
                await self.run(name)
            except Exception:
                self._metrics.reactions_failures.labels(name).inc()
                log.exception("consumer %s failed; its events are handled again at the next run", name)
            await self._sleep(self._wakes[name], self._poll)
