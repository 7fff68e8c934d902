from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId


class StreamState(StrEnum):
    IDLE = "idle"  # credentials issued, nothing pushed yet
    PUBLISHING = "publishing"
    INTERRUPTED = "interrupted"  # the push dropped; the room waits out the grace period
    ENDED = "ended"  # the room is over: no push is admitted any more


class RoomStream(Base):
    """The one stream of a room, on the provider it was set up with."""

    __tablename__ = "live_room_streams"

    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[StreamState] = mapped_column(String(16))
    pull: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_expires_at: Mapped[datetime | None]
    went_down_at: Mapped[datetime | None]  # when the push last dropped (grace period runs from here)
    # the provider has been told to cut this stream (after the room ended); cleared by nobody
    cut_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class StreamEventRecord(Base):
    """A provider event of a room's stream, kept for staff (time, kind, payload)."""

    __tablename__ = "live_stream_events"
    __table_args__ = (
        Index("ix_live_stream_events_room", "room_id", "id"),
        UniqueConstraint("provider", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))  # what we did: admitted, refused, went_live, ...
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RoomReplay(Base):
    """A recording of the room made playable (HLS VOD); a room that reconnected has several."""

    __tablename__ = "live_room_replays"
    __table_args__ = (UniqueConstraint("room_id", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(500))  # the provider's recording (path or URL)
    hls: Mapped[str] = mapped_column(String(500))
    cover: Mapped[str | None] = mapped_column(String(500))
    duration_s: Mapped[float | None]
    created_at: Mapped[datetime]
