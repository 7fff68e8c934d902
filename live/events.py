"""After-commit publication: the outbox relay moves committed events to the event sink.

Actions write events into the outbox table in their own transaction. After every commit the database
nudges the relay, which reads unpublished events in id order, hands them to the sink, and marks them
published in one transaction. A crash between commit and publish loses nothing: the relay also polls,
so events left behind are published at the next run (at least once, in order). On PostgreSQL one
relay drains at a time (an advisory lock), which keeps the order across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, text, update

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.outbox import OutboxEvent
from live.observability import Metrics

log = logging.getLogger("yellowcart.events")

_RELAY_LOCK_KEY = 0x59434F42  # "YCOB": the outbox relay's advisory lock


@dataclass(frozen=True)
class Event:
    id: int
    stream: str
    kind: str
    seq: int | None
    payload: dict[str, Any]
    created_at: datetime


class EventSink(Protocol):
    """Where committed events go (the room channel's broker, from the next layer up)."""

    async def publish(self, events: Sequence[Event]) -> None: ...


class LocalBus:
    """In-process fan-out of committed events to subscribers' bounded queues.

    A subscriber whose queue is full loses its oldest event and is told so by ``overflowed``; the
    relay never waits for a subscriber.
    """

    def __init__(self, queue_size: int = 10_000) -> None:
        self._subs: set[Subscription] = set()
        self._queue_size = queue_size

    def subscribe(self, stream_prefix: str = "") -> Subscription:
        sub = Subscription(self, stream_prefix, self._queue_size)
        self._subs.add(sub)
        return sub

    def _drop(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    async def publish(self, events: Sequence[Event]) -> None:
        for sub in list(self._subs):
            for ev in events:
                if ev.stream.startswith(sub.prefix):
                    sub.offer(ev)


class Subscription:
    def __init__(self, bus: LocalBus, prefix: str, size: int) -> None:
        self._bus = bus
        self.prefix = prefix
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.overflowed = 0

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.overflowed += 1
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        return await self.queue.get()

    def drain(self) -> list[Event]:
        out: list[Event] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    def close(self) -> None:
        self._bus._drop(self)


class FanoutSink:
    """Publish to several sinks in order (the broker for viewers, the local bus for in-process readers)."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    async def publish(self, events: Sequence[Event]) -> None:
        for sink in self.sinks:
            await sink.publish(events)


def encode_state(kind: str, payload: dict[str, Any], at: datetime) -> bytes:
    """A room state event as viewers receive it (without its ``seq``, which frames add): the same bytes
    whether it travels through the broker or is read back from the outbox."""
    body = {"kind": kind, **payload, "at": at.isoformat()}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class BrokerSink:
    """State events of ordered streams (``room:{id}``, ``user:{id}``) go to the broker with their
    sequence number; the stream is the broker's topic."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker

    async def publish(self, events: Sequence[Event]) -> None:
        for ev in events:
            if ev.seq is None or not ev.stream.startswith(("room:", "user:")):
                continue
            data = encode_state(ev.kind, ev.payload, ev.created_at)
            await self._broker.publish_state(ev.stream, ev.seq, data)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        sink: EventSink,
        clock: Clock,
        metrics: Metrics,
        *,
        poll_seconds: float = 1.0,
        batch: int = 500,
    ) -> None:
        self._db = db
        self._sink = sink
        self._clock = clock
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

    def nudge(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Publish everything committed so far; returns how many events went out."""
        total = 0
        async with self._lock:
            while True:
                n = await self._drain_batch()
                total += n
                if n < self._batch:
                    return total

    async def _drain_batch(self) -> int:
        async with self._db.sessions() as session, session.begin():
            if self._db.dialect == "postgresql":
                await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _RELAY_LOCK_KEY})
            rows = list(
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self._batch)
                )
            )
            if not rows:
                return 0
            events = [Event(r.id, r.stream, r.kind, r.seq, dict(r.payload), r.created_at) for r in rows]
            await self._sink.publish(events)
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([r.id for r in rows]))
                .values(published_at=self._clock())
            )
        self._metrics.outbox_published.inc(len(events))
        return len(events)

    async def _run(self) -> None:
        while not self._stopping:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.drain()
            except Exception:
                self._metrics.outbox_failures.inc()
                log.exception("outbox relay run failed; will retry")

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the loop, then publish whatever was committed before the stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(10):
                    await self._task
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        try:
            await self.drain()
        except Exception:
            log.exception("final outbox drain failed; the events stay in the outbox for the next start")
