"""The messaging interfaces between processes, in two parts:

- ``Broker``: publish/subscribe with history, per topic (``room:{id}``, ``user:{id}``). State events
  carry the topic's gapless sequence number and are kept in the topic's history; chat and notices
  are fanned out without history (chat keeps a short list of recent messages).
- ``Counters``: presence and counters per room (likes, online counts over processes, peak, unique
  viewers), which the report and the counts in room frames read.

A topic's history has a position ``(epoch, top)``: ``top`` is the newest sequence number it holds and
``epoch`` names the history's lifetime. The epoch changes whenever the history may have lost entries
(Redis flushed or restarted empty, a failover, an in-process broker restarted), so a reader that saw
another epoch knows the broker cannot vouch for what it missed and must ask the database instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol


def room_topic(room_id: int) -> str:
    return f"room:{room_id}"


def user_topic(user_id: str) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Publication:
    """One message on a topic. ``data`` is the event's JSON, encoded once by the publisher."""

    topic: str
    kind: Literal["state", "chat", "notice"]
    seq: int  # state events: the topic's sequence number; chat and notices: 0
    data: bytes

    @property
    def room_id(self) -> int:
        """The room of a ``room:{id}`` topic."""
        return int(self.topic.removeprefix("room:"))


@dataclass(frozen=True)
class Position:
    """Where a topic's history stands: its epoch ("" when the broker holds nothing for the topic) and
    the newest sequence number it holds (0 for none)."""

    epoch: str
    top: int


@dataclass(frozen=True)
class History:
    """State events after a sequence number. ``events`` runs without a gap from ``after + 1`` up to
    ``position.top``, or is None when the broker no longer holds all of them (trimmed or lost). The
    broker vouches only for what it holds: the database may know later events (not yet published)."""

    position: Position
    events: list[Publication] | None


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


Handler = Callable[[Publication], None]
ResyncHandler = Callable[[], None]


class Broker(Protocol):
    """Publish/subscribe with history, per topic."""

    def set_handlers(self, on_publication: Handler, on_resync: ResyncHandler) -> None:
        """``on_publication`` gets every message of a subscribed topic; ``on_resync`` is called after the
        broker reconnected, when messages may have been missed (the hub then catches up)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def subscribe(self, topic: str) -> None: ...

    async def unsubscribe(self, topic: str) -> None: ...

    async def publish_state(self, topic: str, seq: int, data: bytes) -> bool:
        """Append to the topic's history and fan out; False (and nothing sent) if ``seq`` is not new."""
        ...

    async def publish_chat(self, topic: str, data: bytes) -> None:
        """Fan out a danmaku (lossy) and keep it among the topic's recent chat."""
        ...

    async def publish_notice(self, topic: str, data: bytes) -> None:
        """Fan out a transient notice (e.g. "just bought"): no history, lossy like chat."""
        ...

    async def recent_chat(self, topic: str, limit: int) -> list[bytes]: ...

    async def history(self, topic: str, after_seq: int) -> History:
        """The held state events after ``after_seq``, in order, read together with the position."""
        ...

    async def positions(self, topics: Iterable[str]) -> dict[str, Position]:
        """Each topic's history position, read in one round trip."""
        ...


class Counters(Protocol):
    """Presence and counters per room, summed over every process."""

    async def close(self) -> None: ...

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
