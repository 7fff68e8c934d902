"""The in-process broker and counters: the embedded default, one process only. The history lives as
long as the process: each broker has an epoch of its own, so a restarted process never vouches for
the old one's."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterable

from live.broker.base import (
    Handler,
    History,
    OnlineFigures,
    Position,
    Publication,
    ResyncHandler,
    RoomFigures,
)


class MemoryBroker:
    def __init__(self, *, history_size: int = 1000, chat_history: int = 50) -> None:
        self._history_size = history_size
        self._state: dict[str, deque[Publication]] = {}
        self._last: dict[str, int] = {}
        self._chat: dict[str, deque[bytes]] = {}
        self._chat_history = chat_history
        self._subscribed: set[str] = set()
        self._on_pub: Handler | None = None
        self.epoch = uuid.uuid4().hex[:16]

    def set_handlers(self, on_publication: Handler, on_resync: ResyncHandler) -> None:
        self._on_pub = on_publication

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribed.clear()

    async def ping(self) -> None:
        return None

    async def subscribe(self, topic: str) -> None:
        self._subscribed.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._subscribed.discard(topic)

    def _deliver(self, pub: Publication) -> None:
        if self._on_pub is not None and pub.topic in self._subscribed:
            # delivered on the next loop turn, as a network broker would
            asyncio.get_running_loop().call_soon(self._on_pub, pub)

    async def publish_state(self, topic: str, seq: int, data: bytes) -> bool:
        if seq <= self._last.get(topic, 0):
            return False
        pub = Publication(topic, "state", seq, data)
        self._state.setdefault(topic, deque(maxlen=self._history_size)).append(pub)
        self._last[topic] = seq
        self._deliver(pub)
        return True

    async def publish_chat(self, topic: str, data: bytes) -> None:
        self._chat.setdefault(topic, deque(maxlen=self._chat_history)).append(data)
        self._deliver(Publication(topic, "chat", 0, data))

    async def publish_notice(self, topic: str, data: bytes) -> None:
        self._deliver(Publication(topic, "notice", 0, data))

    async def recent_chat(self, topic: str, limit: int) -> list[bytes]:
        return list(self._chat.get(topic, deque()))[-limit:] if limit > 0 else []

    def _position(self, topic: str) -> Position:
        last = self._last.get(topic, 0)
        return Position(self.epoch if last else "", last)

    async def history(self, topic: str, after_seq: int) -> History:
        position = self._position(topic)
        if after_seq >= position.top:
            return History(position, [])
        held = self._state.get(topic, deque())
        if not held or held[0].seq > after_seq + 1:
            return History(position, None)
        return History(position, [p for p in held if p.seq > after_seq])

    async def positions(self, topics: Iterable[str]) -> dict[str, Position]:
        return {t: self._position(t) for t in topics}


class MemoryCounters:
    def __init__(self) -> None:
        self._likes: dict[int, int] = {}
        self._online: dict[int, dict[str, int]] = {}
        self._peak: dict[int, int] = {}
        self._viewers: dict[int, set[str]] = {}

    async def close(self) -> None:
        return None

    async def add_likes(self, room_id: int, n: int) -> int:
        self._likes[room_id] = self._likes.get(room_id, 0) + n
        return self._likes[room_id]

    async def report_online(
        self, room_id: int, node: str, count: int, viewers: Iterable[str]
    ) -> OnlineFigures:
        nodes = self._online.setdefault(room_id, {})
        nodes[node] = count
        current = sum(nodes.values())
        self._peak[room_id] = max(self._peak.get(room_id, 0), current)
        seen = self._viewers.setdefault(room_id, set())
        seen.update(viewers)
        return OnlineFigures(current, self._peak[room_id], len(seen))

    async def figures(self, room_id: int) -> RoomFigures:
        return RoomFigures(
            online=sum(self._online.get(room_id, {}).values()),
            peak=self._peak.get(room_id, 0),
            unique_viewers=len(self._viewers.get(room_id, set())),
            likes=self._likes.get(room_id, 0),
        )
