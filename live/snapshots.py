"""The database part of a room snapshot (room, cart with the units left, subscribers), shared by viewers
who join together.

A thousand viewers joining in the same second would otherwise make a thousand identical reads. A
snapshot read at sequence ``n`` is good for a viewer as long as the hub has not delivered anything after ``n``
to the room (later events reach the new viewer through the hub), and for at most ``max_age`` seconds
(subscriber counts change without events). Concurrent joiners wait for one read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commerce.core.database import Database
from commerce.orders.stock import StockLedger
from live.api.presenters import listing_out, room_out, stream_out
from live.cart.actions import cart
from live.rooms.actions import get_room, subscriber_counts
from live.shared_reads import SharedReads
from live.streaming.actions import read_stream


@dataclass(frozen=True)
class RoomSnapshot:
    seq: int
    room: dict[str, Any]
    cart: list[dict[str, Any]]
    read_at: float


class RoomSnapshots:
    def __init__(
        self,
        db: Database,
        ledger: StockLedger,
        *,
        max_age: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self.max_age = max_age
        self._now = monotonic
        self._shared: SharedReads[int, RoomSnapshot] = SharedReads()

    @property
    def reads(self) -> int:
        return self._shared.reads

    async def get(self, room_id: int, *, covering: int) -> RoomSnapshot:
        """A snapshot of the room at sequence ``covering`` or later."""
        return await self._shared.get(
            room_id,
            lambda: self._read(room_id),
            lambda v: v.seq >= covering and self._now() - v.read_at <= self.max_age,
        )

    async def _read(self, room_id: int) -> RoomSnapshot:
        async with self._db.read() as s:
            room = await get_room(s, room_id)
            lines = await cart(s, room_id, self._ledger)
            subs = await subscriber_counts(s, [room_id])
            row, replays = await read_stream(s, room_id)
        stream = stream_out(row, replays) if row is not None else None
        return RoomSnapshot(
            seq=room.event_seq,
            room=room_out(room, subscribers=subs[room_id], stream=stream).model_dump(mode="json"),
            cart=[listing_out(line, room).model_dump(mode="json") for line in lines],
            read_at=self._now(),
        )

    def forget(self, room_id: int) -> None:
        self._shared.forget(lambda k: k == room_id)
