"""The database's record of every room's state events: the room's sequence number, which is the truth
of where a room stands, and its committed events, read back from the outbox by stream and position.

The broker's history is a cache of this record. Whatever the broker cannot vouch for (it lost its
data, trimmed it, or the relay has not published the newest events yet) is read from here: a resuming
viewer and the hub's position checks compare with the database, never with the broker alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from commerce.core.database import Database
from commerce.core.outbox import OutboxEvent
from live.broker import Publication
from live.events import encode_state
from live.rooms.actions import room_stream
from live.rooms.models import Room


class RoomLog:
    def __init__(self, db: Database, *, limit: int = 1000) -> None:
        self._db = db
        self.limit = limit  # most events read back for one room at once (the resume window)

    async def seqs(self, room_ids: Iterable[int]) -> dict[int, int]:
        """Each room's current sequence number in the database (rooms that do not exist are left out)."""
        ids = list(room_ids)
        if not ids:
            return {}
        async with self._db.read() as s:
            rows = await s.execute(select(Room.id, Room.event_seq).where(Room.id.in_(ids)))
            return {int(r): int(seq or 0) for r, seq in rows}

    async def events(self, room_id: int, after: int, upto: int) -> list[Publication] | None:
        """The committed state events ``after < seq <= upto`` in order, or None when the database cannot
        give every one of them (more than ``limit``, or missing rows)."""
        if upto <= after:
            return []
        if upto - after > self.limit:
            return None
        async with self._db.read() as s:
            rows = (
                await s.execute(
                    select(OutboxEvent.seq, OutboxEvent.kind, OutboxEvent.payload, OutboxEvent.created_at)
                    .where(
                        OutboxEvent.stream == room_stream(room_id),
                        OutboxEvent.seq > after,
                        OutboxEvent.seq <= upto,
                    )
                    .order_by(OutboxEvent.seq)
                )
            ).all()
        out = [
            Publication(room_id, "state", int(seq), encode_state(kind, dict(payload), at))
            for seq, kind, payload, at in rows
        ]
        if [p.seq for p in out] != list(range(after + 1, upto + 1)):
            return None
        return out
