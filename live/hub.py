"""This process's rooms and connections. Messages arrive from the broker; every tick each room with
something due gets one frame, encoded once and offered to every connection of the room.

The hub never awaits a socket: ``Connection.offer`` only queues. State events are delivered in
sequence order without gaps: a gap (a message missed while the broker reconnected) is filled from the
broker's history, and what the broker cannot vouch for from the database's record of the room
(``RoomTruth``, the outbox) before anything later is sent; only if neither holds it are the room's
viewers told to resynchronise (close 4009) and come back to a fresh snapshot.

A lost message that no later message reveals (the last of a burst, then silence) is found by the
position checks: every ``position_seconds`` each room's last delivered seq is compared with the
broker's position (epoch, top), and every ``anchor_seconds`` (or at once when the broker's epoch
changed, i.e. it may have lost entries) with the room's seq in the database; a room found behind is
caught up, and the repair counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.broker import Broker, Position, Publication
from live.close_codes import CLOSE_RESYNC, CLOSE_ROOM_ENDED, CLOSE_SERVICE_RESTART
from live.connection import Connection, Frame
from live.observability import Metrics

log = logging.getLogger("yellowcart.hub")

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


class RoomTruth(Protocol):
    """The database's record of the rooms' state events (``live.room_log.RoomLog``)."""

    async def seqs(self, room_ids: Iterable[int]) -> dict[int, int]: ...

    async def events(self, room_id: int, after: int, upto: int) -> list[Publication] | None: ...


@dataclass
class RoomChannel:
    room_id: int
    connections: set[Connection] = field(default_factory=set)
    last_seq: int = 0  # the newest state event handed to this room's viewers on this process
    epoch: str = ""  # the broker history's epoch that ``last_seq`` was last checked against
    opened: asyncio.Future[None] | None = None  # done once the room's position is known
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
        truth: RoomTruth | None = None,
        position_seconds: float = 2.0,
        anchor_seconds: float = 40.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.tick_seconds = tick_seconds
        self.counts_seconds = counts_seconds
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._wall = wall_clock
        self._keep = keep_figures
        self.keep_seconds = keep_seconds
        self.truth = truth
        self.position_seconds = position_seconds
        self.anchor_seconds = anchor_seconds
        self.rooms: dict[int, RoomChannel] = {}
        self._bought: dict[int, tuple[int, list[dict[str, Any]]]] = {}  # placed here, to announce
        self.on_state: Callable[[int], None] | None = None  # told the room id of every state event
        self._tasks: list[asyncio.Task[None]] = []
        broker.set_handlers(self._on_publication, self._on_resync)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self._tick_loop(), name="hub-tick"),
            asyncio.create_task(self._counts_loop(), name="hub-counts"),
            asyncio.create_task(self._position_loop(), name="hub-positions"),
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
            channel = await self._open(room_id, known_seq)
        elif channel.opened is not None and not channel.opened.done():
            await asyncio.shield(channel.opened)  # another viewer is opening it: its position first
        channel.connections.add(conn)
        channel.sessions += 1
        conn.watched_until = time.monotonic()
        if conn.user_id:
            channel.new_viewers.add(conn.user_id)
        channel.counts_dirty = True
        self.metrics.ws_connections.inc()
        return channel

    async def _open(self, room_id: int, known_seq: int) -> RoomChannel:
        """Subscribe to a room and find its position. Publications arriving meanwhile are held, then
        handled in order once the position is known (a gap among them is caught up as usual)."""
        channel = RoomChannel(room_id, catching_up=True)
        channel.opened = asyncio.get_running_loop().create_future()
        self.rooms[room_id] = channel
        try:
            await self.broker.subscribe(room_id)
            position = (await self.broker.positions([room_id]))[room_id]
            channel.likes_total = await self.broker.add_likes(room_id, 0)
        except BaseException as exc:
            if self.rooms.get(room_id) is channel:
                del self.rooms[room_id]
            channel.opened.set_exception(exc)
            channel.opened.exception()  # the joiners waiting on it get it
            raise
        channel.epoch = position.epoch
        channel.last_seq = max(position.top, known_seq)
        channel.opened.set_result(None)
        held, channel.held = sorted(channel.held, key=lambda p: p.seq), []
        channel.catching_up = False
        for pub in held:
            self._on_publication(pub)
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
            channel.held.append(pub)
            self._start_catch_up(channel)
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

    async def _catch_up(self, channel: RoomChannel, *, target: int = 0, anchor: bool = False) -> None:
        """Deliver every state event after the room's ``last_seq`` up to ``target`` (and up to what the
        held publications imply), from the broker's history and, for what it cannot vouch for, from
        the database; with ``anchor`` also up to the room's seq in the database. Then release what was
        held. Only if neither source has the events are the viewers told to resynchronise (4009)."""
        room_id, after = channel.room_id, channel.last_seq
        if channel.held:
            target = max(target, max(p.seq for p in channel.held) - 1)
        found: list[Publication] | None = None
        try:
            history = await self._retrying("history fetch", lambda: self.broker.history(room_id, after))
            target = max(target, history.position.top)
            found = [p for p in history.events or [] if p.seq > after]
            self.metrics.ws_events_recovered.labels("broker").inc(len(found))
            channel.epoch = history.position.epoch or channel.epoch
            if anchor and self.truth is not None:
                truth = self.truth
                seqs = await self._retrying("room seq read", lambda: truth.seqs([room_id]))
                target = max(target, seqs.get(room_id, 0))
            have = found[-1].seq if found else after
            if have < target:
                if self.truth is None:
                    found = None
                else:
                    truth = self.truth
                    more = await self._retrying("event log read", lambda: truth.events(room_id, have, target))
                    if more:
                        self.metrics.ws_events_recovered.labels("database").inc(len(more))
                    found = None if more is None else [*found, *more]
        except Exception:
            found = None
        if found is None:
            self.metrics.ws_resume.labels("gap_unrecoverable").inc()
            log.warning(
                "state events missing from the broker and the database; viewers told to resynchronise",
                extra={"room_id": room_id, "after_seq": after, "target": target},
            )
            channel.pending_state.clear()
            for conn in list(channel.connections):
                conn.close_soon(CLOSE_RESYNC, "missed state events: reconnect for a fresh snapshot")
            channel.last_seq = max([channel.last_seq, target, *(p.seq for p in channel.held)])
            found = []
        elif found:
            self.metrics.ws_resume.labels("gap_filled").inc()
            log.info(
                "caught up the room's state events",
                extra={"room_id": room_id, "events": len(found), "after_seq": after},
            )
        for pub in sorted([*found, *channel.held], key=lambda p: p.seq):
            if pub.seq == channel.last_seq + 1:
                self._accept_state(channel, pub)
        channel.held.clear()
        channel.catching_up = False

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

    def _start_catch_up(self, channel: RoomChannel, *, target: int = 0, anchor: bool = False) -> None:
        if channel.catching_up or (channel.opened is not None and not channel.opened.done()):
            return
        channel.catching_up = True
        asyncio.get_running_loop().create_task(self._catch_up(channel, target=target, anchor=anchor))

    def _on_resync(self) -> None:
        """The broker reconnected: anything may have been missed meanwhile, and a restarted broker may
        have lost its history; catch every room up against the broker and the database."""
        self.metrics.broker_reconnects.inc()
        for channel in list(self.rooms.values()):
            self._start_catch_up(channel, anchor=True)

    async def missed(self, room_id: int, since: int, upto: int) -> list[Publication] | None:
        """For a resuming viewer: every state event ``since < seq <= upto`` (``upto`` the room's seq in
        the database), from the broker's history and the database; None if they cannot all be had."""
        if since >= upto:
            return []
        if self.truth is not None and upto - since > getattr(self.truth, "limit", upto - since):
            return None
        history = await self.broker.history(room_id, since)
        found = [p for p in history.events or [] if p.seq <= upto]
        have = found[-1].seq if found else since
        if have < upto:
            if self.truth is None:
                return None
            more = await self.truth.events(room_id, have, upto)
            if more is None:
                return None
            found.extend(more)
        return found

    def check_positions(self, positions: dict[int, Position], db_seqs: dict[int, int]) -> list[int]:
        """Compare each room's delivered seq with the broker's position and (if given) the database's
        seq; start a catch-up for every room found behind. Returns the rooms that needed one."""
        behind: list[int] = []
        for room_id, position in positions.items():
            channel = self.rooms.get(room_id)
            if channel is None or channel.catching_up:
                continue
            target = position.top
            if room_id in db_seqs:
                target = max(target, db_seqs[room_id])
                channel.epoch = position.epoch  # checked against the database under this epoch
            if target > channel.last_seq:
                source = "database" if target > position.top else "broker"
                self.metrics.ws_position_repairs.labels(source).inc()
                log.warning(
                    "room found behind by the position check; catching up",
                    extra={"room_id": room_id, "last_seq": channel.last_seq, "target": target},
                )
                behind.append(room_id)
                self._start_catch_up(channel, target=target, anchor=room_id in db_seqs)
        return behind

    async def check_positions_once(self, *, anchor: bool) -> list[int]:
        rooms = [
            r for r, c in self.rooms.items() if c.opened is not None and c.opened.done() and not c.catching_up
        ]
        if not rooms:
            return []
        positions = await self.broker.positions(rooms)
        # a changed epoch: the broker may have lost entries that no viewer here received
        lost = [r for r in rooms if r in self.rooms and positions[r].epoch != self.rooms[r].epoch]
        asked = rooms if anchor else lost
        db_seqs = await self.truth.seqs(asked) if (self.truth is not None and asked) else {}
        self.metrics.ws_position_checks.labels("anchor" if db_seqs else "broker").inc()
        return self.check_positions(positions, db_seqs)

    async def _position_loop(self) -> None:
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

    def add_bought(self, room_id: int, name: str, title: str) -> None:
        """Announce a purchase in the room ("W***g just bought ..."), aggregated: at most one notice per
        room per counts interval from each process, carrying the latest few and how many in all."""
        count, recent = self._bought.get(room_id, (0, []))
        recent = [*recent, {"name": mask_name(name), "title": title}][-BOUGHT_SHOWN:]
        self._bought[room_id] = (count + 1, recent)

    async def _flush_bought(self) -> None:
        pending, self._bought = self._bought, {}
        for room_id, (count, recent) in pending.items():
            data = _dumps({"count": count, "recent": recent}).encode()
            try:
                await self.broker.publish_notice(room_id, data)
            except Exception:  # notices are lossy by design, like danmaku
                log.warning("could not announce purchases", extra={"room_id": room_id})

    async def _flush_counts(self) -> None:
        await self._flush_bought()
        for room_id, channel in list(self.rooms.items()):
            if channel.opened is not None and not channel.opened.done():
                continue  # a viewer is joining it right now
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

    async def publish_chat(self, room_id: int, data: dict[str, Any]) -> None:
        """Send a danmaku to the room's viewers on every process; it counts as published here."""
        await self.broker.publish_chat(room_id, _dumps(data).encode())
        self.count_danmaku(room_id)

    def count_danmaku(self, room_id: int) -> None:
        channel = self.rooms.get(room_id)
        if channel is not None:
            channel.danmaku += 1

    def add_likes(self, room_id: int, n: int) -> None:
        channel = self.rooms.get(room_id)
        if channel is not None:
            channel.likes_pending += n
