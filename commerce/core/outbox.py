"""Transactional outbox: events are written with the change that caused them and published after commit;
each committed event gets a position in commit order, and each consumer of events keeps its progress.

Events of an ordered stream carry the stream's gapless sequence number, assigned in the writing
transaction: a room's from its row (``live_rooms.event_seq``), any other stream's (a user's
``user:{id}``) from ``event_streams``, whose row the transaction locks by incrementing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.database import OUTBOX_WRITTEN
from commerce.core.db import Base, BigId


class OutboxEvent(Base):
    """An event waiting to be (or already) published. ``stream`` names the audience, e.g. ``room:12``."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_unpublished", "published_at", "id"),
        # a stream's events by position: what a resuming viewer missed is read from here
        Index("ix_outbox_events_stream_seq", "stream", "seq"),
        # committed events in commit order (the sequencer assigns positions); unsequenced ones first
        Index("ix_outbox_events_position", "position", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    # position of the event within its stream, assigned in the writing transaction (gapless per stream)
    seq: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    # the event's place in commit order, assigned after its commit (ids are handed out at insert, so a
    # transaction that commits late can hold a smaller id than events already handled): consumers
    # read by position, never by id
    position: Mapped[int | None] = mapped_column(BigId)


class ConsumerProgress(Base):
    """How far one consumer of committed events has got: the position of the last event it handled."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigId)
    updated_at: Mapped[datetime]


def record_event(
    session: AsyncSession,
    *,
    stream: str,
    kind: str,
    payload: dict[str, Any],
    at: datetime,
    seq: int | None = None,
) -> OutboxEvent:
    """Add an event to the current transaction; it becomes visible to the relay only if that commits."""
    event = OutboxEvent(stream=stream, kind=kind, seq=seq, payload=payload, created_at=at, published_at=None)
    session.add(event)
    session.info[OUTBOX_WRITTEN] = True
    return event


class EventStream(Base):
    """The position of an ordered event stream other than a room's (a user's: ``user:{id}``)."""

    __tablename__ = "event_streams"

    stream: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigId, default=0)


def user_stream(user_id: str) -> str:
    return f"user:{user_id}"


async def next_seq(session: AsyncSession, stream: str) -> int:
    """The stream's next sequence number; the row stays locked until the transaction ends, so the
    numbers are gapless and in commit order."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(EventStream)
        .values(stream=stream, seq=1)
        .on_conflict_do_update(index_elements=["stream"], set_={"seq": EventStream.seq + 1})
        .returning(EventStream.seq)
    )
    return int((await session.execute(stmt)).scalar_one())


async def record_user_event(
    session: AsyncSession, user_id: str, *, kind: str, payload: dict[str, Any], at: datetime
) -> OutboxEvent:
    """An event for one user's own eyes (their order moved, their case was answered), delivered to
    their open sockets in order."""
    stream = user_stream(user_id)
    return record_event(
        session, stream=stream, kind=kind, payload=payload, at=at, seq=await next_seq(session, stream)
    )
