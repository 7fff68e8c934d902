"""The audience of this process's rooms: what the room frames show besides state and chat, and what
the room report keeps.

Per room: likes tapped here (summed over processes by the counters every ``counts_seconds``), the
online count, peak and unique viewers reported to and read back from the counters, the "just bought"
notices received for the next frame, and this process's increments for the report (danmaku, watch
time, sessions), handed to ``keep_figures`` at most every ``keep_seconds`` and when the room is let go.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.broker import Counters

log = logging.getLogger("yellowcart.audience")

BOUGHT_SHOWN = 3  # names shown in a "just bought" notice; the rest are counted


class Watched(Protocol):
    """A viewer's connection, as far as watch time goes."""

    watched_until: float


def mask_name(name: str) -> str:
    """Keep the first and last character: "Wang Fang" -> "W***g", "Li" -> "L*"."""
    name = name.strip() or "?"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "***" + name[-1]


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


@dataclass
class RoomAudience:
    room_id: int
    likes_pending: int = 0  # tapped here, not yet added to the counters
    likes_total: int = 0
    online: int = 0
    peak: int = 0
    unique: int = 0
    counts_dirty: bool = False  # a frame should carry the counts
    new_viewers: set[str] = field(default_factory=set)
    bought_recent: list[dict[str, Any]] = field(default_factory=list)  # "just bought", for the next frame
    bought_count: int = 0
    bought_units: dict[str, int] = field(default_factory=dict)  # listing id -> units left, latest read
    kept: tuple[int, int, int] = (0, 0, 0)  # (peak, unique, likes) last handed to ``keep_figures``
    kept_at: float = 0.0
    danmaku: int = 0  # published from this process since the last keep
    watch_seconds: float = 0.0  # watched on this process since the last keep
    sessions: int = 0  # connections opened on this process since the last keep

    def counts(self) -> dict[str, int]:
        return {"online": self.online, "likes": self.likes_total, "peak": self.peak}

    def take_counts(self) -> dict[str, int] | None:
        """The counts, if they changed since the last frame."""
        if not self.counts_dirty:
            return None
        self.counts_dirty = False
        return self.counts()

    def take_bought(self) -> dict[str, Any] | None:
        if not self.bought_count:
            return None
        out: dict[str, Any] = {"recent": self.bought_recent, "count": self.bought_count}
        if self.bought_units:
            out["units_left"] = self.bought_units
        self.bought_recent, self.bought_count, self.bought_units = [], 0, {}
        return out

    @property
    def due(self) -> bool:
        return self.counts_dirty or bool(self.bought_count)


class Audience:
    def __init__(
        self,
        counters: Counters,
        *,
        node_id: str,
        keep_figures: KeepFigures | None = None,
        keep_seconds: float = 10.0,
    ) -> None:
        self.counters = counters
        self.node_id = node_id
        self._keep = keep_figures
        self.keep_seconds = keep_seconds
        self.rooms: dict[int, RoomAudience] = {}

    async def open(self, room_id: int) -> RoomAudience:
        room = self.rooms.get(room_id)
        if room is None:
            room = RoomAudience(room_id)
            room.likes_total = await self.counters.add_likes(room_id, 0)
            self.rooms[room_id] = self.rooms.get(room_id, room)
        return self.rooms[room_id]

    def joined(self, room: RoomAudience, conn: Watched, user_id: str | None) -> None:
        room.sessions += 1
        conn.watched_until = time.monotonic()
        if user_id:
            room.new_viewers.add(user_id)
        room.counts_dirty = True

    def left(self, room: RoomAudience, conn: Watched) -> None:
        now = time.monotonic()
        room.watch_seconds += now - conn.watched_until
        conn.watched_until = now
        room.counts_dirty = True

    def add_likes(self, room_id: int, n: int) -> None:
        room = self.rooms.get(room_id)
        if room is not None:
            room.likes_pending += n

    def count_danmaku(self, room_id: int) -> None:
        room = self.rooms.get(room_id)
        if room is not None:
            room.danmaku += 1

    def on_notice(self, room_id: int, data: bytes) -> None:
        """A "just bought" notice from any process: merged into the room's next frame."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        try:
            notice = json.loads(data)
            room.bought_count += int(notice["count"])
            room.bought_recent = (room.bought_recent + list(notice["recent"]))[-BOUGHT_SHOWN:]
            units = notice.get("units_left") or {}
            room.bought_units.update({str(k): int(v) for k, v in units.items()})
        except (ValueError, KeyError, TypeError):
            log.warning("undecodable notice", extra={"room_id": room_id})

    async def update(self, room_id: int, connections: Iterable[Watched], *, final: bool) -> None:
        """Add the likes tapped here, report this process's viewers, read the room's figures back; then
        keep the report's figures when due. ``final``: this process is about to let the room go (keep
        everything now); the caller then calls ``forget``."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        present = list(connections)
        likes, room.likes_pending = room.likes_pending, 0
        try:
            total = await self.counters.add_likes(room_id, likes)
        except Exception:
            room.likes_pending += likes  # kept for the next try
            raise
        viewers, room.new_viewers = room.new_viewers, set()
        figures = await self.counters.report_online(room_id, self.node_id, len(present), viewers)
        if (total, figures.current, figures.peak) != (room.likes_total, room.online, room.peak):
            room.counts_dirty = True
        room.likes_total, room.online, room.peak, room.unique = (
            total,
            figures.current,
            figures.peak,
            figures.unique,
        )
        await self._keep_figures(room, present, final=final)

    def forget(self, room_id: int) -> None:
        self.rooms.pop(room_id, None)

    async def _keep_figures(self, room: RoomAudience, present: list[Watched], *, final: bool) -> None:
        """Hand the room's figures and this process's increments to ``keep_figures``: at most every
        ``keep_seconds``, and when this process lets the room go. A failure is retried next round."""
        if self._keep is None:
            return
        now = time.monotonic()
        for conn in present:  # watch time of viewers still here, up to now
            room.watch_seconds += now - conn.watched_until
            conn.watched_until = now
        figures = (room.peak, room.unique, room.likes_total)
        pending = room.danmaku or room.sessions or room.watch_seconds >= 1
        if figures == room.kept and not pending and not present:
            return
        if not final and now - room.kept_at < self.keep_seconds:
            return
        watched = int(room.watch_seconds)
        tally = RoomTally(room.room_id, *figures, room.online, room.danmaku, watched, room.sessions)
        try:
            await self._keep(tally)
        except Exception:
            log.warning("could not keep the room's figures; will retry", extra={"room_id": room.room_id})
            return
        room.kept, room.kept_at = figures, now
        room.danmaku -= tally.danmaku
        room.sessions -= tally.sessions
        room.watch_seconds -= watched
