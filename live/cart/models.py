from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId, MinorUnits


class ListingStatus(StrEnum):
    PENDING = "pending"
    ON_SALE = "on_sale"
    SOLD_OUT = "sold_out"
    OFF = "off"


class Listing(Base):
    __tablename__ = "live_listings"
    __table_args__ = (
        UniqueConstraint("room_id", "product_id"),
        CheckConstraint("live_price_minor IS NULL OR live_price_minor >= 0", name="live_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_rooms.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    position: Mapped[int]
    status: Mapped[ListingStatus] = mapped_column(String(16))
    live_price_minor: Mapped[int | None] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
