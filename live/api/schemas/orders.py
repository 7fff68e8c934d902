"""Buying: a listing's stock in the room, orders, the buyer's address, shipping (one or many)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints, WithJsonSchema

from commerce.orders.actions import MAX_UNITS
from commerce.orders.models import OrderStatus
from live.api.schemas.common import Id, In, Out, Query, line


class StockIn(In):
    stock: Annotated[int, Field(ge=0, le=MAX_UNITS, description="units allotted to this room")]
    limit_per_user: Annotated[int, Field(ge=1, le=10_000)] | None = None
    starts_at: AwareDatetime | None = Field(None, description="sale start (a countdown until then)")


class StockOut(Out):
    listing_id: int
    stock: int
    sold: int
    units_left: int = Field(description="units the room still has to sell")
    limit_per_user: int | None
    starts_at: datetime | None
    on_sale: bool


class AddressIn(In):
    name: Annotated[str, line(50)]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,19}$")]
    line1: Annotated[str, line(200)]
    line2: Annotated[str, line(200, 0)] = ""
    city: Annotated[str, line(64)]
    region: Annotated[str, line(64, 0)] = ""
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 \-]{0,12}$")] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderIn(In):
    sku_id: Id
    quantity: Annotated[int, Field(ge=1, le=999)] = 1
    address: AddressIn


class OrderOut(Out):
    id: int
    status: str
    buyer_id: str
    shop_id: int
    room_id: int | None
    streamer_id: str | None
    listing_id: int = Field(validation_alias="sale_id")
    product_id: int
    sku_id: int
    title: str
    sku_attributes: dict[str, Any]
    quantity: int
    unit_price_minor: int
    total_minor: int
    currency: str
    address: dict[str, Any]
    carrier: str | None
    tracking_no: str | None
    pay_by: datetime
    complete_by: datetime | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    finished_at: datetime | None
    allowed_statuses: list[str] = []


class OrderPage(Out):
    items: list[OrderOut]
    total: int
    offset: int
    limit: int


# a time in a query: RFC 3339 text with its zone (pydantic alone would also read "0.5" as a Unix time)
_RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _time_text(value: object) -> object:
    if not isinstance(value, str) or not re.match(_RFC3339, value):
        raise ValueError("expected an RFC 3339 date-time with its zone, e.g. 2026-12-02T10:00:00Z")
    return value


QueryTime = Annotated[
    AwareDatetime,
    BeforeValidator(_time_text),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _RFC3339}),
]


class OrdersQuery(Query):
    status: list[OrderStatus] | None = None
    room_id: Id | None = None
    created_from: QueryTime | None = Field(None, description="orders placed at or after this time")
    created_to: QueryTime | None = Field(None, description="orders placed before this time")
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class ShipIn(In):
    carrier: Annotated[str, line(64)]
    tracking_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{4,64}$")]


class BulkShipItem(ShipIn):
    order_id: Id


class BulkShipIn(In):
    items: list[BulkShipItem] = Field(min_length=1, max_length=200)


class BulkShipResult(Out):
    order_id: int
    ok: bool
    status: str | None = None
    error: dict[str, Any] | None = None


class BulkShipOut(Out):
    results: list[BulkShipResult]
