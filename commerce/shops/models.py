from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId


class LiveStatus(StrEnum):
    """A shop's qualification to sell live."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class MemberRole(StrEnum):
    OPERATOR = "operator"
    STREAMER = "streamer"


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    category: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    business_license_no: Mapped[str] = mapped_column(String(64))
    conditions_version: Mapped[str] = mapped_column(String(16))
    live_status: Mapped[LiveStatus] = mapped_column(String(16), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def qualified(self) -> bool:
        return self.live_status == LiveStatus.APPROVED


class ShopMember(Base):
    __tablename__ = "shop_members"
    __table_args__ = (UniqueConstraint("shop_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[MemberRole] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]
