"""The broker interface: per-room state events with history, chat fan-out, like and online counters.

A room's history has a position ``(epoch, top)``: ``top`` is the newest sequence number it holds and
``epoch`` names the history's lifetime. The epoch changes whenever the history may have lost entries
(Redis flushed or restarted empty, a failover, an in-process broker restarted), so a reader that saw
another epoch knows the broker cannot vouch for what it missed and must ask the database instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Publication:
    """One message for a room. ``data`` is the event's JSON, encoded once by the publisher."""

    room_id: int
    kind: Literal["state", "chat", "notice"]
    seq: int  # state events: the room's sequence number; chat: 0
    data: bytes


@dataclass(frozen=True)
class OnlineFigures:
    current: int  # connections now, over every process
    peak: int  # highest ``current`` seen
    unique: int  # distinct viewers since the room opened


@dataclass(frozen=True)
class RoomFigures:
    online: int
    peak: int
    unique_viewers: int
    likes: int


@dataclass(frozen=True)
class Position:
    """Where a room's history stands: its epoch ("" when the broker holds nothing for the room) and the
    newest sequence number it holds (0 for none)."""

    epoch: str
    top: int


@dataclass(frozen=True)
class History:
    """State events after a sequence number. ``events`` runs without a gap from ``after + 1`` up to
    ``position.top``, or is None when the broker no longer holds all of them (trimmed or lost). The
    broker vouches only for what it holds: the database may know later events (not yet published)."""

    position: Position
    events: list[Publication] | None


Handler = Callable[[Publication], None]
ResyncHandler = Callable[[], None]


class Broker(Protocol):
    """What the hub needs from the messaging layer between processes."""

    def set_handlers(self, on_publication: Handler, on_resync: ResyncHandler) -> None:
        """``on_publication`` gets every message of a subscribed room; ``on_resync`` is called after the
        broker reconnected, when messages may have been missed (the hub then catches up from history)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def subscribe(self, room_id: int) -> None: ...

    async def unsubscribe(self, room_id: int) -> None: ...

    async def publish_state(self, room_id: int, seq: int, data: bytes) -> bool:
        """Append to the room's history and fan out; False (and nothing sent) if ``seq`` is not new."""
        ...

    async def publish_chat(self, room_id: int, data: bytes) -> None: ...

    async def publish_notice(self, room_id: int, data: bytes) -> None:
        """Fan out a transient notice (e.g. "just bought"): no history, lossy like chat."""
        ...

    async def history(self, room_id: int, after_seq: int) -> History:
        """The held state events after ``after_seq``, in order, read together with the position."""
        ...

    async def positions(self, room_ids: Iterable[int]) -> dict[int, Position]:
        """Each room's history position, read in one round trip."""
        ...

    async def recent_chat(self, room_id: int, limit: int) -> list[bytes]: ...

    async def add_likes(self, room_id: int, n: int) -> int:
        """Add ``n`` likes (n may be 0) and return the room's total."""
        ...

    async def report_online(
        self, room_id: int, node: str, count: int, viewers: Iterable[str]
    ) -> OnlineFigures:
        """Report this process's connection count and newly seen viewers; get the room's figures."""
        ...

    async def figures(self, room_id: int) -> RoomFigures:
        """The room's live figures over every process, read only."""
        ...
