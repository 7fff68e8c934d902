from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId


class RoomState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    FORCE_ENDED = "force_ended"
    CANCELLED = "cancelled"


class Room(Base):
    __tablename__ = "live_rooms"
    __table_args__ = (Index("ix_live_rooms_state_sched", "state", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    streamer_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(100))
    cover_url: Mapped[str | None] = mapped_column(String(500))  # None: no cover (yet)
    description: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[RoomState] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    explaining_listing_id: Mapped[int | None] = mapped_column(BigId)
    # sequence number of the room's last state event; the room row is locked whenever it moves
    event_seq: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    # audience figures kept for the report (written by the hub as they grow, never lowered)
    peak_viewers: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    unique_viewers: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    likes: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    danmaku: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    watch_seconds: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    sessions: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoomSubscription(Base):
    """A viewer asked to be told when a scheduled room goes live."""

    __tablename__ = "live_room_subscriptions"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]


class RoomMinute(Base):
    """Concurrent viewers of a room in one minute (the highest count sampled in it)."""

    __tablename__ = "live_room_minutes"

    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    viewers: Mapped[int] = mapped_column(default=0)


class StreamerFollow(Base):
    """A viewer follows a streamer; ``room_id`` is the room they followed from, if any."""

    __tablename__ = "streamer_follows"
    __table_args__ = (
        UniqueConstraint("streamer_id", "user_id"),
        Index("ix_streamer_follows_room", "room_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    streamer_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    room_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
