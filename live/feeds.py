"""Ordered, gapless delivery of each topic's state events on this process (a room's, a user's).

A ``Feed`` is one topic as this process delivers it: the last seq handed on, the broker epoch that
position was last checked against, and publications held while a gap is being filled. ``Feeds`` does
the work around it:

- a publication with the next seq is accepted at once; an old one is dropped (a relay retry, an
  overlap); one after a gap is held while the gap is filled, first from the broker's history, then,
  for whatever the broker cannot vouch for, from the database's record (``Truth``, the outbox); only if
  neither has the events is the feed's audience told to resynchronise (``on_lost``);
- a feed being opened holds its publications until its position is known;
- ``missed`` gives a resuming client every event after its seq up to the database's, or None;
- position checks: every ``position_seconds`` each feed is compared with the broker's position
  (epoch, top); every ``anchor_seconds``, or at once when the broker's epoch changed (it may have
  lost entries), also with the database's seq. A feed found behind is caught up, and the repair
  counted: a message lost with nothing after it is repaired within that interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.broker import Broker, Position, Publication
from live.observability import Metrics

log = logging.getLogger("yellowcart.feeds")


class Truth(Protocol):
    """The database's record of the topics' state events (``live.event_log.EventLog``)."""

    limit: int  # the most events read back for one topic at once

    async def seqs(self, topics: Iterable[str]) -> dict[str, int]: ...

    async def events(self, topic: str, after: int, upto: int) -> list[Publication] | None: ...


@dataclass
class Feed:
    topic: str
    accept: Callable[[Publication], None]  # hands an in-order state event to the audience
    on_lost: Callable[[], None]  # events could not be had: the audience must resynchronise
    last_seq: int = 0  # the newest state event handed on here
    epoch: str = ""  # the broker history's epoch that ``last_seq`` was last checked against
    opened: asyncio.Future[None] | None = None  # done once the position is known
    catching_up: bool = True  # publications are held until opened, and while a gap is filled
    held: list[Publication] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        opened = self.opened
        return opened is not None and opened.done() and not opened.cancelled() and opened.exception() is None


class Feeds:
    def __init__(
        self,
        broker: Broker,
        metrics: Metrics,
        *,
        truth: Truth | None = None,
        position_seconds: float = 2.0,
        anchor_seconds: float = 40.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.truth = truth
        self.position_seconds = position_seconds
        self.anchor_seconds = anchor_seconds
        self.feeds: dict[str, Feed] = {}

    # --- opening and closing ------------------------------------------------------------------

    async def open(self, feed: Feed, known_seq: int = 0) -> None:
        """Subscribe to the feed's topic and find its position: the broker's top or ``known_seq`` (the
        database's seq that the audience's snapshot covers), whichever is later. Publications that
        arrive meanwhile are held, then handled in order. ``feed.opened`` resolves then (a caller that
        registers the feed before awaiting anything creates that future itself)."""
        if feed.opened is None:
            feed.opened = asyncio.get_running_loop().create_future()
        opened = feed.opened
        self.feeds[feed.topic] = feed
        try:
            await self.broker.subscribe(feed.topic)
            position = (await self.broker.positions([feed.topic]))[feed.topic]
        except BaseException as exc:
            if self.feeds.get(feed.topic) is feed:
                del self.feeds[feed.topic]
            if not opened.done():
                opened.set_exception(exc)
                opened.exception()  # the joiners waiting on it get it
            raise
        feed.epoch = position.epoch
        feed.last_seq = max(position.top, known_seq)
        opened.set_result(None)
        held, feed.held = sorted(feed.held, key=lambda p: p.seq), []
        feed.catching_up = False
        for pub in held:
            self.on_state(feed, pub)

    async def close(self, feed: Feed) -> None:
        if self.feeds.get(feed.topic) is feed:
            del self.feeds[feed.topic]
            await self.broker.unsubscribe(feed.topic)

    # --- inbound ------------------------------------------------------------------------------

    def on_state(self, feed: Feed, pub: Publication) -> None:
        if feed.catching_up:
            feed.held.append(pub)
        elif pub.seq <= feed.last_seq:
            return  # already handed on (a relay retry, a catch-up overlap, the snapshot covered it)
        elif pub.seq > feed.last_seq + 1:
            feed.held.append(pub)
            self.start_catch_up(feed)
        else:
            feed.last_seq = pub.seq
            feed.accept(pub)

    def start_catch_up(self, feed: Feed, *, target: int = 0, anchor: bool = False) -> None:
        if feed.catching_up or not feed.ready:
            return
        feed.catching_up = True
        asyncio.get_running_loop().create_task(self._catch_up(feed, target=target, anchor=anchor))

    def resync_all(self) -> None:
        """The broker reconnected: anything may have been missed meanwhile, and a restarted broker may
        have lost its history; catch every feed up against the broker and the database."""
        for feed in list(self.feeds.values()):
            self.start_catch_up(feed, anchor=True)

    async def _catch_up(self, feed: Feed, *, target: int, anchor: bool) -> None:
        """Hand on every state event after ``last_seq`` up to ``target`` (and up to what the held
        publications imply; with ``anchor``, up to the database's seq), then release what was held."""
        topic, after = feed.topic, feed.last_seq
        if feed.held:
            target = max(target, max(p.seq for p in feed.held) - 1)
        found: list[Publication] | None
        try:
            history = await self._retrying("history fetch", lambda: self.broker.history(topic, after))
            target = max(target, history.position.top)
            found = [p for p in history.events or [] if p.seq > after]
            self.metrics.ws_events_recovered.labels("broker").inc(len(found))
            feed.epoch = history.position.epoch or feed.epoch
            truth = self.truth
            if anchor and truth is not None:
                seqs = await self._retrying("seq read", lambda: truth.seqs([topic]))
                target = max(target, seqs.get(topic, 0))
            have = found[-1].seq if found else after
            if have < target:
                if truth is None:
                    found = None
                else:
                    more = await self._retrying("event log read", lambda: truth.events(topic, have, target))
                    if more:
                        self.metrics.ws_events_recovered.labels("database").inc(len(more))
                    found = None if more is None else [*found, *more]
        except Exception:
            found = None
        if found is None:
            self.metrics.ws_resume.labels("gap_unrecoverable").inc()
            log.warning(
                "state events missing from the broker and the database; the audience must resynchronise",
                extra={"topic": topic, "after_seq": after, "target": target},
            )
            feed.on_lost()
            feed.last_seq = max([feed.last_seq, target, *(p.seq for p in feed.held)])
            found = []
        elif found:
            self.metrics.ws_resume.labels("gap_filled").inc()
            log.info("caught up a topic's state events", extra={"topic": topic, "events": len(found)})
        for pub in sorted([*found, *feed.held], key=lambda p: p.seq):
            if pub.seq == feed.last_seq + 1:
                feed.last_seq = pub.seq
                feed.accept(pub)
        feed.held.clear()
        feed.catching_up = False

    async def _retrying(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        for attempt in range(5):
            try:
                return await call()
            except Exception:
                if attempt == 4:
                    raise
                log.warning("%s failed; retrying", what, exc_info=True)
                await asyncio.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    # --- resume -------------------------------------------------------------------------------

    async def missed(self, topic: str, since: int, upto: int) -> list[Publication] | None:
        """For a resuming client: every state event ``since < seq <= upto`` (``upto`` the database's
        seq), from the broker's history and the database; None if they cannot all be had, or if
        ``since`` is ahead of ``upto`` (the client knows a stream that is not this one)."""
        if since > upto:
            return None
        if since == upto:
            return []
        if self.truth is not None and upto - since > self.truth.limit:
            return None
        history = await self.broker.history(topic, since)
        found = [p for p in history.events or [] if p.seq <= upto]
        have = found[-1].seq if found else since
        if have < upto:
            if self.truth is None:
                return None
            more = await self.truth.events(topic, have, upto)
            if more is None:
                return None
            found.extend(more)
        return found

    # --- position checks ----------------------------------------------------------------------

    def check_positions(self, positions: dict[str, Position], db_seqs: dict[str, int]) -> list[str]:
        """Compare each feed's seq with the broker's position and (if given) the database's seq; start
        a catch-up for every feed found behind. Returns the topics that needed one."""
        behind: list[str] = []
        for topic, position in positions.items():
            feed = self.feeds.get(topic)
            if feed is None or feed.catching_up:
                continue
            target = position.top
            if topic in db_seqs:
                target = max(target, db_seqs[topic])
                feed.epoch = position.epoch  # checked against the database under this epoch
            if target > feed.last_seq:
                source = "database" if target > position.top else "broker"
                self.metrics.ws_position_repairs.labels(source).inc()
                log.warning(
                    "a topic found behind by the position check; catching up",
                    extra={"topic": topic, "last_seq": feed.last_seq, "target": target},
                )
                behind.append(topic)
                self.start_catch_up(feed, target=target, anchor=topic in db_seqs)
        return behind

    async def check_positions_once(self, *, anchor: bool) -> list[str]:
        topics = [t for t, f in self.feeds.items() if f.ready and not f.catching_up]
        if not topics:
            return []
        positions = await self.broker.positions(topics)
        # a changed epoch: the broker may have lost entries that no one here received
        lost = [t for t in topics if t in self.feeds and positions[t].epoch != self.feeds[t].epoch]
        asked = topics if anchor else lost
        db_seqs = await self.truth.seqs(asked) if (self.truth is not None and asked) else {}
        self.metrics.ws_position_checks.labels("anchor" if db_seqs else "broker").inc()
        return self.check_positions(positions, db_seqs)

    async def run_position_checks(self) -> None:
        loop = asyncio.get_running_loop()
        anchor_at = loop.time() + self.anchor_seconds
        while True:
            await asyncio.sleep(self.position_seconds)
            anchor = loop.time() >= anchor_at
            if anchor:
                anchor_at = loop.time() + self.anchor_seconds
            try:
                await self.check_positions_once(anchor=anchor)
            except Exception:
                log.warning("position check failed; will retry", exc_info=True)
