"""This process's cache of what a purchase needs to know about a listing (``SaleFacts``: room, shop,
streamer, product, SKU prices), read once and shared by the attempts of a flash sale.

An entry is kept at most ``max_age`` seconds and dropped as soon as this process sees a state event of the
room (a price or status change reaches the hub before most viewers could react to it). Whether the
listing may be sold is not decided here: the stock ledger holds that (open, started, in stock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from commerce.catalog.models import Product, Sku
from commerce.core.database import Database
from commerce.core.errors import NotFound
from live.cart.models import Listing, ListingStatus
from live.rooms.models import Room, RoomState
from live.shared_reads import SharedReads


@dataclass(frozen=True)
class SkuFacts:
    price_minor: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SaleFacts:
    room_id: int
    room_state: RoomState
    shop_id: int
    streamer_id: str
    listing_id: int
    listing_status: ListingStatus
    live_price_minor: int | None
    currency: str
    product_id: int
    title: str
    skus: dict[int, SkuFacts]
    read_at: float


class SaleCache:
    """The ``SaleFacts`` of listings, per (room, listing), shared by concurrent readers."""

    def __init__(
        self, db: Database, *, max_age: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ):
        self._db = db
        self.max_age = max_age
        self._now = monotonic
        self._shared: SharedReads[tuple[int, int], SaleFacts] = SharedReads()

    async def get(self, room_id: int, listing_id: int) -> SaleFacts:
        return await self._shared.get(
            (room_id, listing_id),
            lambda: self._read(room_id, listing_id),
            lambda v: self._now() - v.read_at <= self.max_age,
        )

    def forget(self, room_id: int) -> None:
        self._shared.forget(lambda k: k[0] == room_id)

    async def _read(self, room_id: int, listing_id: int) -> SaleFacts:
        async with self._db.read() as s:
            room = await s.get(Room, room_id)
            if room is None:
                raise NotFound("room", room_id)
            listing = await s.scalar(
                select(Listing).where(Listing.id == listing_id, Listing.room_id == room_id)
            )
            if listing is None:
                raise NotFound("listing", listing_id)
            product = await s.get(Product, listing.product_id)
            assert product is not None
            skus = {
                sku.id: SkuFacts(sku.price_minor, dict(sku.attributes))
                for sku in await s.scalars(select(Sku).where(Sku.product_id == product.id))
            }
        return SaleFacts(
            room_id=room.id,
            room_state=room.state,
            shop_id=room.shop_id,
            streamer_id=room.streamer_id,
            listing_id=listing.id,
            listing_status=listing.status,
            live_price_minor=listing.live_price_minor,
            currency=listing.currency,
            product_id=product.id,
            title=product.title,
            skus=skus,
            read_at=self._now(),
        )
