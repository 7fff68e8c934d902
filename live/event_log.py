"""The database's record of every topic's state events: the topic's sequence number, which is the
truth of where it stands (a room's in ``live_rooms.event_seq``, a user's in ``event_streams``), and
its committed events, read back from the outbox by stream and position.

The broker's history is a cache of this record. Whatever the broker cannot vouch for (it lost its
data, trimmed it, or the relay has not published the newest events yet) is read from here: a resuming
viewer and the hub's position checks compare with the database, never with the broker alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from commerce.core.database import Database
from commerce.core.outbox import EventStream, OutboxEvent
from live.broker import Publication
from live.events import encode_state
from live.rooms.models import Room


class EventLog:
    def __init__(self, db: Database, *, limit: int = 1000) -> None:
        self._db = db
        self.limit = limit  # most events read back for one topic at once (the resume window)

    async def seqs(self, topics: Iterable[str]) -> dict[str, int]:
        """Each topic's current sequence number in the database. Rooms that do not exist are left out;
        a user stream with no events yet stands at 0."""
        wanted = list(topics)
        rooms = {int(t.removeprefix("room:")): t for t in wanted if t.startswith("room:")}
        others = [t for t in wanted if not t.startswith("room:")]
        out: dict[str, int] = {}
        if not wanted:
            return out
        async with self._db.read() as s:
            if rooms:
                rows = await s.execute(select(Room.id, Room.event_seq).where(Room.id.in_(list(rooms))))
                out.update({rooms[int(r)]: int(seq or 0) for r, seq in rows})
            if others:
                rows = await s.execute(
                    select(EventStream.stream, EventStream.seq).where(EventStream.stream.in_(others))
                )
                found = {str(stream): int(seq) for stream, seq in rows}
                out.update({t: int(found.get(t, 0)) for t in others})
        return out

    async def events(self, topic: str, after: int, upto: int) -> list[Publication] | None:
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
                    .where(OutboxEvent.stream == topic, OutboxEvent.seq > after, OutboxEvent.seq <= upto)
                    .order_by(OutboxEvent.seq)
                )
            ).all()
        out = [
            Publication(topic, "state", int(seq), encode_state(kind, dict(payload), at))
            for seq, kind, payload, at in rows
        ]
        if [p.seq for p in out] != list(range(after + 1, upto + 1)):
            return None
        return out
