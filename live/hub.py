"""This process's rooms, users and connections. Messages arrive from the broker; every tick each room
with something due gets one frame, encoded once and offered to every connection of the room; a
signed-in viewer's own events (topic ``user:{id}``) are offered to that viewer's connections.

The hub never awaits a socket: ``Connection.offer`` only queues. Each topic's state events are handed
on in order without silent gaps by its ``Feed`` (``live.feeds``: gaps filled from the broker's history
and the database, position checks); a room whose events could not be had closes its viewers with 4009,
to come back with ``since``. The audience figures and notices are ``live.audience``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from live.audience import BOUGHT_SHOWN, Audience, KeepFigures, RoomAudience, RoomTally, mask_name
from live.broker import Broker, Counters, Publication, RoomFigures, room_topic, user_topic
from live.close_codes import CLOSE_RESYNC, CLOSE_ROOM_ENDED, CLOSE_SERVICE_RESTART
from live.connection import Connection, Frame
from live.feeds import Feed, Feeds, Truth
from live.observability import Metrics

log = logging.getLogger("yellowcart.hub")

FINAL_STATES = {"ended", "force_ended", "cancelled"}

__all__ = ["FINAL_STATES", "Hub", "RoomChannel", "RoomTally", "UserChannel", "mask_name"]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _event(pub: Publication) -> dict[str, Any] | None:
    try:
        event = json.loads(pub.data)
    except ValueError:
        log.error("undecodable state event", extra={"topic": pub.topic, "seq": pub.seq})
        return None
    event["seq"] = pub.seq
    return dict(event)


@dataclass
class RoomChannel:
    room_id: int
    feed: Feed
    audience: RoomAudience
    connections: set[Connection] = field(default_factory=set)
    pending_state: list[dict[str, Any]] = field(default_factory=list)
    pending_chat: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False
    muted: set[str] = field(default_factory=set)
    muted_loaded: bool = False

    @property
    def last_seq(self) -> int:
        return self.feed.last_seq


@dataclass
class UserChannel:
    """A signed-in user's own events (orders, after-sales cases, payouts), to each of their sockets."""

    user_id: str
    feed: Feed
    connections: set[Connection] = field(default_factory=set)

    @property
    def last_seq(self) -> int:
        return self.feed.last_seq


class Hub:
    def __init__(
        self,
        broker: Broker,
        counters: Counters,
        metrics: Metrics,
        *,
        tick_seconds: float = 0.1,
        counts_seconds: float = 1.0,
        node_id: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        keep_figures: KeepFigures | None = None,
        keep_seconds: float = 10.0,
        truth: Truth | None = None,
        position_seconds: float = 2.0,
        anchor_seconds: float = 40.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.tick_seconds = tick_seconds
        self.counts_seconds = counts_seconds
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self._wall = wall_clock
        self.feeds = Feeds(
            broker, metrics, truth=truth, position_seconds=position_seconds, anchor_seconds=anchor_seconds
        )
        self.audience = Audience(
            counters, node_id=self.node_id, keep_figures=keep_figures, keep_seconds=keep_seconds
        )
        self.rooms: dict[int, RoomChannel] = {}
        self.users: dict[str, UserChannel] = {}
        self.on_state: Callable[[int], None] | None = None  # told the room id of every state event
        self._tasks: list[asyncio.Task[None]] = []
        broker.set_handlers(self._on_publication, self._on_resync)

    @property
    def truth(self) -> Truth | None:
        return self.feeds.truth

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self._tick_loop(), name="hub-tick"),
            asyncio.create_task(self._counts_loop(), name="hub-counts"),
            asyncio.create_task(self.feeds.run_position_checks(), name="hub-positions"),
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
        await self.audience.counters.close()

    # --- rooms --------------------------------------------------------------------------------

    async def join(self, room_id: int, conn: Connection, *, known_seq: int = 0) -> RoomChannel:
        """Add ``conn`` to the room; ``known_seq`` is the room's sequence in the database, which the
        viewer's snapshot will cover (it counts when the broker has lost the room's history)."""
        channel = self.rooms.get(room_id)
        if channel is None:
            channel = await self._open_room(room_id, known_seq)
        elif channel.feed.opened is not None and not channel.feed.opened.done():
            await asyncio.shield(channel.feed.opened)  # another viewer is opening it: its position first
        channel.connections.add(conn)
        self.audience.joined(channel.audience, conn, conn.user_id)
        self.metrics.ws_connections.inc()
        return channel

    async def _open_room(self, room_id: int, known_seq: int) -> RoomChannel:
        def accept(pub: Publication) -> None:
            self._accept_room_state(channel, pub)

        def lost() -> None:
            channel.pending_state.clear()
            for conn in list(channel.connections):
                conn.close_soon(CLOSE_RESYNC, "missed state events: reconnect for a fresh snapshot")

        feed = Feed(room_topic(room_id), accept, lost)
        channel = RoomChannel(room_id, feed, RoomAudience(room_id))

        async def opening() -> None:
            channel.audience = await self.audience.open(room_id)
            await self.feeds.open(feed, known_seq)

        await self._opened(self.rooms, room_id, channel, feed, opening())
        return channel

    async def _opened(
        self, registry: dict[Any, Any], key: Any, channel: Any, feed: Feed, opening: Awaitable[None]
    ) -> None:
        """Register ``channel`` at once (joiners meanwhile wait on its feed), then open it; on failure
        unregister it and hand the failure to those joiners."""
        feed.opened = asyncio.get_running_loop().create_future()
        registry[key] = channel
        try:
            await opening
        except BaseException as exc:
            if registry.get(key) is channel:
                del registry[key]
            if not feed.opened.done():
                feed.opened.set_exception(exc)
                feed.opened.exception()
            raise

    async def leave(self, room_id: int, conn: Connection) -> None:
        channel = self.rooms.get(room_id)
        if channel is None or conn not in channel.connections:
            return
        channel.connections.discard(conn)
        self.audience.left(channel.audience, conn)
        self.metrics.ws_connections.dec()

    def _accept_room_state(self, channel: RoomChannel, pub: Publication) -> None:
        event = _event(pub)
        if event is None:
            return
        if self.on_state is not None:
            self.on_state(channel.room_id)
        channel.pending_state.append(event)
        if event.get("kind") == "room.muted":
            channel.muted.add(str(event.get("user_id")))
        elif event.get("kind") == "room.unmuted":
            channel.muted.discard(str(event.get("user_id")))

    async def missed(self, room_id: int, since: int, upto: int) -> list[Publication] | None:
        """For a viewer resuming with ``since``: the room's state events up to ``upto``, or None."""
        return await self.feeds.missed(room_topic(room_id), since, upto)

    # --- users --------------------------------------------------------------------------------

    async def join_user(self, user_id: str, conn: Connection, *, known_seq: int = 0) -> UserChannel:
        """Deliver the user's own events to ``conn`` from now on; ``known_seq`` is the user's seq in the
        database, which the first user frame covers."""
        channel = self.users.get(user_id)
        if channel is None:
            channel = await self._open_user(user_id, known_seq)
        elif channel.feed.opened is not None and not channel.feed.opened.done():
            await asyncio.shield(channel.feed.opened)
        channel.connections.add(conn)
        return channel

    async def _open_user(self, user_id: str, known_seq: int) -> UserChannel:
        def accept(pub: Publication) -> None:
            event = _event(pub)
            if event is not None:
                frame = Frame(_dumps({"t": "user", "seq": pub.seq, "events": [event]}), 0, lane="user")
                for conn in channel.connections:
                    conn.offer(frame)

        def lost() -> None:
            # the user's events could not be had: each socket is told to read its state afresh
            text = _dumps({"t": "user", "recovered": False, "seq": channel.last_seq, "events": []})
            for conn in channel.connections:
                conn.offer(Frame(text, 0, lane="user"))

        feed = Feed(user_topic(user_id), accept, lost)
        channel = UserChannel(user_id, feed)
        await self._opened(self.users, user_id, channel, feed, self.feeds.open(feed, known_seq))
        return channel

    async def follow_user(self, user_id: str, conn: Connection, since: int | None) -> None:
        """Start a signed-in viewer's own events on ``conn``: a first ``user`` frame with the user's seq
        in the database (and, with ``since``, every event missed since then, or ``recovered: false``),
        then each new event as it commits."""
        if conn.following is not None and conn.following != user_id:
            await self.leave_user(conn.following, conn)
        conn.following = user_id
        channel = await self.join_user(user_id, conn)
        topic = user_topic(user_id)
        truth = self.truth
        upto = channel.last_seq
        if truth is not None:  # read after joining: it covers whatever the channel handed on already
            upto = max(upto, (await truth.seqs([topic])).get(topic, 0))
        body: dict[str, Any] = {"t": "user", "seq": upto, "events": []}
        if since is not None:
            events = await self.feeds.missed(topic, since, upto)
            body["recovered"] = events is not None
            body["events"] = [e for e in map(_event, events or []) if e is not None]
        conn.offer(Frame(_dumps(body), 0, lane="user"))

    async def leave_user(self, user_id: str, conn: Connection) -> None:
        if conn.following == user_id:
            conn.following = None
        channel = self.users.get(user_id)
        if channel is None:
            return
        channel.connections.discard(conn)
        if not channel.connections:
            del self.users[user_id]
            with contextlib.suppress(Exception):
                await self.feeds.close(channel.feed)

    # --- inbound ------------------------------------------------------------------------------

    def _on_publication(self, pub: Publication) -> None:
        feed = self.feeds.feeds.get(pub.topic)
        if feed is None:
            return
        if pub.kind == "state":
            self.feeds.on_state(feed, pub)
            return
        if not pub.topic.startswith("room:"):
            return
        channel = self.rooms.get(pub.room_id)
        if channel is None:
            return
        if pub.kind == "chat":
            with contextlib.suppress(ValueError):
                channel.pending_chat.append(json.loads(pub.data))
        elif pub.kind == "notice":
            self.audience.on_notice(pub.room_id, pub.data)

    def _on_resync(self) -> None:
        self.metrics.broker_reconnects.inc()
        self.feeds.resync_all()

    # --- outbound -----------------------------------------------------------------------------

    def _frame_for(self, channel: RoomChannel) -> Frame | None:
        audience = channel.audience
        if not (channel.pending_state or channel.pending_chat or audience.due):
            return None
        body: dict[str, Any] = {
            "t": "batch",
            "room": channel.room_id,
            "seq": channel.last_seq,
            "ts": int(self._wall() * 1000),
            "state": channel.pending_state,
            "chat": channel.pending_chat,
        }
        counts = audience.take_counts()
        if counts is not None:
            body["counts"] = counts
        bought = audience.take_bought()
        if bought is not None:
            body["bought"] = bought
        events = tuple(channel.pending_state)
        channel.pending_state, channel.pending_chat = [], []
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

    async def _flush_counts(self) -> None:
        for room_id, channel in list(self.rooms.items()):
            if not channel.feed.ready:
                continue  # a viewer is joining it right now
            closing = not channel.connections and not channel.pending_state
            await self.audience.update(room_id, channel.connections, final=closing)
            # let the room go only if nobody joined it while the figures were written
            if closing and not channel.connections and self.rooms.get(room_id) is channel:
                del self.rooms[room_id]
                self.audience.forget(room_id)
                await self.feeds.close(channel.feed)

    # --- from viewers -------------------------------------------------------------------------

    async def publish_chat(self, room_id: int, data: dict[str, Any]) -> None:
        """Send a danmaku to the room's viewers on every process; it counts as published here."""
        await self.broker.publish_chat(room_topic(room_id), _dumps(data).encode())
        self.audience.count_danmaku(room_id)

    async def recent_chat(self, room_id: int, limit: int) -> list[dict[str, Any]]:
        return [json.loads(x) for x in await self.broker.recent_chat(room_topic(room_id), limit)]

    async def figures(self, room_id: int) -> RoomFigures:
        """The room's live figures over every process."""
        return await self.audience.counters.figures(room_id)

    def count_danmaku(self, room_id: int) -> None:
        self.audience.count_danmaku(room_id)

    def add_likes(self, room_id: int, n: int) -> None:
        self.audience.add_likes(room_id, n)

    async def announce_bought(
        self, room_id: int, bought: Sequence[tuple[str, str]], units_left: Mapping[int, int] | None = None
    ) -> None:
        """Announce purchases (buyer name, title) in the room on every process: one notice for many,
        carrying the latest few (names masked), how many in all, and the units their listings have
        left (listing id -> units, as read after the purchases)."""
        if not bought:
            return
        recent = [{"name": mask_name(name), "title": title} for name, title in bought[-BOUGHT_SHOWN:]]
        notice: dict[str, Any] = {"count": len(bought), "recent": recent}
        if units_left:
            notice["units_left"] = {str(k): v for k, v in units_left.items()}
        data = _dumps(notice).encode()
        await self.broker.publish_notice(room_topic(room_id), data)
