from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId


class WordAction(StrEnum):
    MASK = "mask"  # published masked, and queued for review
    BLOCK = "block"  # refused with a reason


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REMOVED = "removed"


class SensitiveWord(Base):
    __tablename__ = "moderation_words"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    word: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[WordAction] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ChatReview(Base):
    """A masked danmaku waiting for (or past) a moderator's look."""

    __tablename__ = "moderation_reviews"
    __table_args__ = (Index("ix_moderation_reviews_status", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(32), unique=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    original: Mapped[str] = mapped_column(String(1000))
    shown: Mapped[str] = mapped_column(String(1000))
    words: Mapped[str] = mapped_column(String(500))
    status: Mapped[ReviewStatus] = mapped_column(String(16))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]


class RoomMute(Base):
    __tablename__ = "room_mutes"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    muted_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class RoomAdmin(Base):
    """A user the room's shop named to help moderate the room (mute and unmute in it)."""

    __tablename__ = "room_admins"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    named_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
