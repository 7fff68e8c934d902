from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId, MinorUnits


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # by the buyer (or staff) before payment
    CLOSED = "closed"  # unpaid in time, or refunded in full


# orders in these states hold their units of the allotment
HOLDING = frozenset(
    {
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    }
)


class Allotment(Base):
    """Stock set aside for one sale (a product offered in a live room): units, a per-user limit, a start.

    ``sold`` is the embedded default's counter (a conditional update keeps it within ``total``); with
    Redis the counter lives in Redis and the reconciliation job compares both with the orders.
    """

    __tablename__ = "sale_allotments"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_non_negative"),
        CheckConstraint("sold >= 0 AND sold <= total", name="sold_within_total"),
    )

    sale_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    total: Mapped[int] = mapped_column(default=0)
    sold: Mapped[int] = mapped_column(default=0)
    limit_per_user: Mapped[int | None]
    starts_at: Mapped[datetime | None]
    open: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class AllotmentBuyer(Base):
    """Units one user holds of one sale (for the per-user limit)."""

    __tablename__ = "sale_allotment_buyers"

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("sale_allotments.sale_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    units: Mapped[int] = mapped_column(default=0)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        Index("ix_orders_shop_status", "shop_id", "status", "id"),
        Index("ix_orders_status_deadline", "status", "pay_by"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("total_minor >= 0", name="total_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    buyer_id: Mapped[str] = mapped_column(String(64), index=True)
    buyer_name: Mapped[str] = mapped_column(String(100), default="")
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    sale_id: Mapped[int] = mapped_column(BigId, index=True)
    room_id: Mapped[int | None] = mapped_column(BigId, index=True)
    streamer_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    title: Mapped[str] = mapped_column(String(120))
    sku_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(MinorUnits)
    total_minor: Mapped[int] = mapped_column(MinorUnits)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(String(16))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    pay_by: Mapped[datetime]
    complete_by: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # completed, cancelled or closed


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """An order not placed yet: what the buyer asked for, at what price. Most attempts of a flash sale are
    refused, so a draft is a plain value; only one that wins its stock becomes an ``Order``."""

    buyer_id: str
    buyer_name: str
    idempotency_key: str
    request_hash: str
    shop_id: int
    sale_id: int
    room_id: int | None
    streamer_id: str | None
    product_id: int
    sku_id: int
    title: str
    sku_attributes: dict[str, Any]
    quantity: int
    unit_price_minor: int
    total_minor: int
    currency: str
    address: dict[str, Any]

    def placed(self, now: datetime, pay_by: datetime) -> Order:
        """The pending order this draft becomes once its stock is taken."""
        fields = {name: getattr(self, name) for name in self.__slots__}  # shallow: asdict() deep-copies
        status = OrderStatus.PENDING_PAYMENT
        return Order(**fields, status=status, created_at=now, updated_at=now, pay_by=pay_by)
