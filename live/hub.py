"""This process's rooms and connections. Messages arrive from the broker; every tick each room with
something due gets one frame, encoded once and offered to every connection of the room.

The hub never awaits a socket: ``Connection.offer`` only queues. State events are delivered in
sequence order without gaps: a gap (a message missed while the broker reconnected) is filled from the
broker's history before anything later is sent; if the history no longer holds it, the room's viewers
are told to resynchronise (close 4009) and come back to a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from live.broker import Broker, Publication
from live.connection import Connection, Frame
from live.observability import Metrics

log = logging.getLogger("yellowcart.hub")

CLOSE_ROOM_ENDED = 4000
CLOSE_RESYNC = 4009
CLOSE_SERVICE_RESTART = 1012
FINAL_STATES = {"ended", "force_ended", "cancelled"}


BOUGHT_SHOWN = 3  # names shown in a "just bought" notice; the rest are counted


def mask_name(name: str) -> str:
    """Keep the first and last character: "Wang Fang" -> "W***g", "Li" -> "L*"."""
    name = name.strip() or "?"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "***" + name[-1]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class RoomChannel:
    room_id: int
    connections: set[Connection] = field(default_factory=set)
    last_seq: int = 0
    pending_state: list[dict[str, Any]] = field(default_factory=list)
    pending_chat: list[dict[str, Any]] = field(default_factory=list)
    likes_pending: int = 0
    likes_total: int = 0
    online: int = 0
    peak: int = 0
    unique: int = 0
    counts_dirty: bool = False
    new_viewers: set[str] = field(default_factory=set)
    catching_up: bool = False
    held: list[Publication] = field(default_factory=list)  # arrived during a catch-up
    ended: bool = False
    muted: set[str] = field(default_factory=set)
    muted_loaded: bool = False
    bought_recent: list[dict[str, Any]] = field(default_factory=list)  # "just bought", for the next frame
    bought_count: int = 0
    kept: tuple[int, int, int] = (0, 0, 0)  # (peak, unique, likes) last handed to ``keep_figures``
    kept_at: float = 0.0
    danmaku: int = 0  # published from this process since the last keep
    watch_seconds: float = 0.0  # watched on this process since the last keep
    sessions: int = 0  # connections opened on this process since the last keep


@dataclass(frozen=True)
class RoomTally:
    """What the hub hands over for the room report: room-wide figures and this process's increments."""

    room_id: int
    peak: int
    unique: int
    likes: int
    online: int
    danmaku: int
    watch_seconds: int
    sessions: int


KeepFigures = Callable[[RoomTally], Awaitable[None]]


class Hub:
    def __init__(
        self,
        broker: Broker,
        metrics: Metrics,
        *,
        tick_seconds: float = 0.1,
        counts_seconds: float = 1.0,
        node_id: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        keep_figures: KeepFigures | None = None,
        keep_seconds: float = 10.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.tick_seconds = tick_seconds
        self.counts_seconds = counts_seconds
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._wall = wall_clock
        self._keep = keep_figures
        self.keep_seconds = keep_seconds
        self.rooms: dict[int, RoomChannel] = {}
        self.on_state: Callable[[int], None] | None = None  # told the room id of every state event
        self._tasks: list[asyncio.Task[None]] = []
        broker.set_handlers(self._on_publication, self._on_resync)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self._tick_loop(), name="hub-tick"),
            asyncio.create_task(self._counts_loop(), name="hub-counts"),
        ]

    async def stop(self) -> None:
        """Tell every viewer to reconnect elsewhere (1012), then stop."""
        for channel in self.rooms.values():
            for conn in list(channel.connections):
                conn.close_soon(CLOSE_SERVICE_RESTART, "server restarting: reconnect and resume")
        await asyncio.sleep(0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._flush_counts()
        await self.broker.close()

    # --- membership ---------------------------------------------------------------------------

    async def join(self, room_id: int, conn: Connection, *, known_seq: int = 0) -> RoomChannel:
        """Add ``conn`` to the room; ``known_seq`` is the room's sequence in the database, which the
        viewer's snapshot will cover (it counts when the broker has lost the room's history)."""
        channel = self.rooms.get(room_id)
        if channel is None:
            channel = RoomChannel(room_id)
            self.rooms[room_id] = channel
            await self.broker.subscribe(room_id)
            channel.last_seq = max(await self.broker.last_seq(room_id), known_seq)
            channel.likes_total = await self.broker.add_likes(room_id, 0)
        channel.connections.add(conn)
        channel.sessions += 1
        conn.watched_until = time.monotonic()
        if conn.user_id:
            channel.new_viewers.add(conn.user_id)
        channel.counts_dirty = True
        self.metrics.ws_connections.inc()
        return channel

    async def leave(self, room_id: int, conn: Connection) -> None:
        channel = self.rooms.get(room_id)
        if channel is None or conn not in channel.connections:
            return
        channel.connections.discard(conn)
        now = time.monotonic()
        channel.watch_seconds += now - conn.watched_until
        conn.watched_until = now
        channel.counts_dirty = True
        self.metrics.ws_connections.dec()

    # --- inbound ------------------------------------------------------------------------------

    def _on_publication(self, pub: Publication) -> None:
        channel = self.rooms.get(pub.room_id)
        if channel is None:
            return
        if pub.kind == "chat":
            with contextlib.suppress(ValueError):
                channel.pending_chat.append(json.loads(pub.data))
            return
        if pub.kind == "notice":
            with contextlib.suppress(ValueError, KeyError, TypeError):
                notice = json.loads(pub.data)
                channel.bought_count += int(notice["count"])
                channel.bought_recent = (channel.bought_recent + list(notice["recent"]))[-BOUGHT_SHOWN:]
            return
        if channel.catching_up:
            channel.held.append(pub)
            return
        if pub.seq <= channel.last_seq:
            return  # already delivered (a relay retry or a catch-up overlap)
        if pub.seq > channel.last_seq + 1:
            channel.catching_up = True
            channel.held.append(pub)
            asyncio.get_running_loop().create_task(self._catch_up(channel))
            return
        self._accept_state(channel, pub)

    def _accept_state(self, channel: RoomChannel, pub: Publication) -> None:
        try:
            event = json.loads(pub.data)
        except ValueError:
            log.error("undecodable state event", extra={"room_id": channel.room_id, "seq": pub.seq})
            return
        event["seq"] = pub.seq
        channel.last_seq = pub.seq
        if self.on_state is not None:
            self.on_state(channel.room_id)
        channel.pending_state.append(event)
        if event.get("kind") == "room.muted":
            channel.muted.add(str(event.get("user_id")))
        elif event.get("kind") == "room.unmuted":
            channel.muted.discard(str(event.get("user_id")))

    async def _catch_up(self, channel: RoomChannel) -> None:
        """Fill a gap in the sequence from the broker's history, then release what was held."""
        missing: list[Publication] | None = None
        for attempt in range(5):
            try:
                missing = await self.broker.history(channel.room_id, channel.last_seq)
                break
            except Exception:
                log.warning(
                    "history fetch failed; retrying", extra={"room_id": channel.room_id}, exc_info=True
                )
                await asyncio.sleep(0.1 * 2**attempt)
        if missing is None:
            self.metrics.ws_resume.labels("gap_unrecoverable").inc()
            log.warning(
                "state events missing from the broker's history; viewers told to resynchronise",
                extra={"room_id": channel.room_id, "after_seq": channel.last_seq},
            )
            channel.pending_state.clear()
            for conn in list(channel.connections):
                conn.close_soon(CLOSE_RESYNC, "missed state events: reconnect for a fresh snapshot")
            channel.last_seq = max([channel.last_seq, *(p.seq for p in channel.held)])
            missing = []
        else:
            self.metrics.ws_resume.labels("gap_filled").inc()
            log.info(
                "filled a gap in the room's state events from the broker's history",
                extra={"room_id": channel.room_id, "events": len(missing)},
            )
        for pub in sorted([*missing, *channel.held], key=lambda p: p.seq):
            if pub.seq == channel.last_seq + 1:
                self._accept_state(channel, pub)
        channel.held.clear()
        channel.catching_up = False

    def _on_resync(self) -> None:
        self.metrics.broker_reconnects.inc()
        for channel in self.rooms.values():
            if not channel.catching_up:
                channel.catching_up = True
                asyncio.get_running_loop().create_task(self._catch_up(channel))

    # --- outbound -----------------------------------------------------------------------------

    def _frame_for(self, channel: RoomChannel) -> Frame | None:
        if not (
            channel.pending_state or channel.pending_chat or channel.counts_dirty or channel.bought_count
        ):
            return None
        body: dict[str, Any] = {
            "t": "batch",
            "room": channel.room_id,
            "seq": channel.last_seq,
            "ts": int(self._wall() * 1000),
            "state": channel.pending_state,
            "chat": channel.pending_chat,
        }
        if channel.counts_dirty:
            body["counts"] = {"online": channel.online, "likes": channel.likes_total, "peak": channel.peak}
        if channel.bought_count:
            body["bought"] = {"recent": channel.bought_recent, "count": channel.bought_count}
            channel.bought_recent, channel.bought_count = [], 0
        events = tuple(channel.pending_state)
        channel.pending_state, channel.pending_chat, channel.counts_dirty = [], [], False
        return Frame(_dumps(body), channel.last_seq, events)

    def flush(self) -> None:
        """Send what is due in every room: one frame per room, encoded once."""
        for channel in list(self.rooms.values()):
            started = time.perf_counter()
            frame = self._frame_for(channel)
            if frame is None:
                continue
            ended = any(
                e.get("kind") == "room.state" and e.get("state") in FINAL_STATES for e in frame.events
            )
            for conn in channel.connections:
                conn.offer(frame)
                if ended:
                    conn.close_soon(CLOSE_ROOM_ENDED, "room ended")
            n = len(channel.connections)
            self.metrics.ws_frames.inc(n)
            self.metrics.ws_bytes.inc(n * len(frame.text))
            self.metrics.ws_broadcast_seconds.observe(time.perf_counter() - started)
            if ended:
                channel.ended = True

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.tick_seconds
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.metrics.event_loop_lag.observe(-delay)
                next_at = loop.time()
            try:
                self.flush()
            except Exception:
                log.exception("hub flush failed")

    async def _counts_loop(self) -> None:
        while True:
            await asyncio.sleep(self.counts_seconds)
            try:
                await self._flush_counts()
            except Exception:
                log.exception("hub counts update failed; will retry")

    async def announce_bought(self, room_id: int, bought: Sequence[tuple[str, str]]) -> None:
        """Announce purchases in the room ("W***g just bought ..."): one notice for many, carrying the
        latest few (names masked) and how many in all. Called by the bought-notices reaction, which
        retries a notice that could not be published."""
        if not bought:
            return
        recent = [{"name": mask_name(name), "title": title} for name, title in bought[-BOUGHT_SHOWN:]]
        await self.broker.publish_notice(room_id, _dumps({"count": len(bought), "recent": recent}).encode())

    async def _flush_counts(self) -> None:
        for room_id, channel in list(self.rooms.items()):
            likes, channel.likes_pending = channel.likes_pending, 0
            try:
                total = await self.broker.add_likes(room_id, likes)
            except Exception:
                channel.likes_pending += likes  # keep them for the next try
                raise
            viewers, channel.new_viewers = channel.new_viewers, set()
            figures = await self.broker.report_online(
                room_id, self.node_id, len(channel.connections), viewers
            )
            changed = (total, figures.current, figures.peak) != (
                channel.likes_total,
                channel.online,
                channel.peak,
            )
            channel.likes_total, channel.online, channel.peak, channel.unique = (
                total,
                figures.current,
                figures.peak,
                figures.unique,
            )
            if changed:
                channel.counts_dirty = True
            closing = not channel.connections and not channel.pending_state
            await self._keep_figures(channel, final=closing)
            if closing:
                del self.rooms[room_id]
                await self.broker.unsubscribe(room_id)

    async def _keep_figures(self, channel: RoomChannel, *, final: bool) -> None:
        """Hand the room's figures and this process's increments to ``keep_figures``: at most every
        ``keep_seconds``, and when this process lets the room go. A failure is retried next round."""
        if self._keep is None:
            return
        now = time.monotonic()
        for conn in channel.connections:  # watch time of viewers still here, up to now
            channel.watch_seconds += now - conn.watched_until
            conn.watched_until = now
        figures = (channel.peak, channel.unique, channel.likes_total)
        pending = channel.danmaku or channel.sessions or channel.watch_seconds >= 1
        if figures == channel.kept and not pending and not channel.connections:
            return
        if not final and now - channel.kept_at < self.keep_seconds:
            return
        watched = int(channel.watch_seconds)
        tally = RoomTally(
            channel.room_id, *figures, channel.online, channel.danmaku, watched, channel.sessions
        )
        try:
            await self._keep(tally)
        except Exception:
            log.warning("could not keep the room's figures; will retry", extra={"room_id": channel.room_id})
            return
        channel.kept, channel.kept_at = figures, now
        channel.danmaku -= tally.danmaku
        channel.sessions -= tally.sessions
        channel.watch_seconds -= watched

    def count_danmaku(self, room_id: int) -> None:
        channel = self.rooms.get(room_id)
        if channel is not None:
            channel.danmaku += 1

    def add_likes(self, room_id: int, n: int) -> None:
        channel = self.rooms.get(room_id)
        if channel is not None:
            channel.likes_pending += n
