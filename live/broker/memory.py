"""The in-process broker: the embedded default, one process only. Its history lives as long as the
process: each instance has an epoch of its own, so a restarted process never vouches for the old one."""

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
        self._state: dict[int, deque[Publication]] = {}
        self._last: dict[int, int] = {}
        self._chat: dict[int, deque[bytes]] = {}
        self._likes: dict[int, int] = {}
        self._online: dict[int, dict[str, int]] = {}
        self._peak: dict[int, int] = {}
        self._viewers: dict[int, set[str]] = {}
        self._chat_history = chat_history
        self._subscribed: set[int] = set()
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

    async def subscribe(self, room_id: int) -> None:
        self._subscribed.add(room_id)

    async def unsubscribe(self, room_id: int) -> None:
        self._subscribed.discard(room_id)

    def _deliver(self, pub: Publication) -> None:
        if self._on_pub is not None and pub.room_id in self._subscribed:
            # delivered on the next loop turn, as a network broker would
            asyncio.get_running_loop().call_soon(self._on_pub, pub)

    async def publish_state(self, room_id: int, seq: int, data: bytes) -> bool:
        if seq <= self._last.get(room_id, 0):
            return False
        pub = Publication(room_id, "state", seq, data)
        self._state.setdefault(room_id, deque(maxlen=self._history_size)).append(pub)
        self._last[room_id] = seq
        self._deliver(pub)
        return True

    async def publish_chat(self, room_id: int, data: bytes) -> None:
        self._chat.setdefault(room_id, deque(maxlen=self._chat_history)).append(data)
        self._deliver(Publication(room_id, "chat", 0, data))

    async def publish_notice(self, room_id: int, data: bytes) -> None:
        self._deliver(Publication(room_id, "notice", 0, data))

    def _position(self, room_id: int) -> Position:
        last = self._last.get(room_id, 0)
        return Position(self.epoch if last else "", last)

    async def history(self, room_id: int, after_seq: int) -> History:
        position = self._position(room_id)
        if after_seq >= position.top:
            return History(position, [])
        held = self._state.get(room_id, deque())
        if not held or held[0].seq > after_seq + 1:
            return History(position, None)
        return History(position, [p for p in held if p.seq > after_seq])

    async def positions(self, room_ids: Iterable[int]) -> dict[int, Position]:
        return {r: self._position(r) for r in room_ids}

    async def recent_chat(self, room_id: int, limit: int) -> list[bytes]:
        return list(self._chat.get(room_id, deque()))[-limit:] if limit > 0 else []

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
