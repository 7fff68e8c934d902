from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId, MinorUnits


class ProductStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(5000), default="")
    images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ProductStatus] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (
        UniqueConstraint("product_id", "attributes_key"),
        CheckConstraint("price_minor >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # canonical "k=v;k=v" form of the attributes: one SKU per combination
    attributes_key: Mapped[str] = mapped_column(String(600))
    price_minor: Mapped[int] = mapped_column(MinorUnits)
    stock: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
