"""Presenters: turn domain rows into the API's response models."""

from __future__ import annotations

from commerce.catalog.models import Product, Sku
from commerce.payments.service import StatementCheck
from commerce.shops.actions import allowed_decisions
from commerce.shops.models import Shop
from live.api.schemas import (
    FeeOut,
    ListingOut,
    LiveFigures,
    ProductOut,
    ProductSummary,
    ReplayOut,
    RoomOut,
    ShopOut,
    SkuOut,
    StatementCheckOut,
    StreamOut,
)
from live.broker import RoomFigures
from live.cart.actions import CartLine
from live.cart.transitions import LISTING
from live.rooms.models import Room
from live.rooms.transitions import FINAL, ROOM
from live.streaming.models import RoomReplay, RoomStream


def shop_out(shop: Shop, *, private: bool, staff: bool = False) -> ShopOut:
    out = ShopOut(
        id=shop.id,
        name=shop.name,
        description=shop.description,
        category=shop.category,
        owner_id=shop.owner_id,
        live_status=shop.live_status,
        status_reason=shop.status_reason,
        created_at=shop.created_at,
        updated_at=shop.updated_at,
        allowed_decisions=allowed_decisions(shop.live_status) if staff else [],
    )
    if private:
        out.contact_name = shop.contact_name
        out.contact_phone = shop.contact_phone
        out.business_license_no = shop.business_license_no
    return out


def sku_out(sku: Sku) -> SkuOut:
    return SkuOut(
        id=sku.id,
        product_id=sku.product_id,
        code=sku.code,
        attributes=dict(sku.attributes),
        price_minor=sku.price_minor,
        stock=sku.stock,
    )


def product_out(product: Product, skus: list[Sku]) -> ProductOut:
    return ProductOut(
        id=product.id,
        shop_id=product.shop_id,
        title=product.title,
        category=product.category,
        description=product.description,
        images=list(product.images),
        currency=product.currency,
        status=product.status,
        skus=[sku_out(s) for s in skus],
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def stream_out(row: RoomStream, replays: list[RoomReplay], play_token: str | None = None) -> StreamOut:
    return StreamOut(
        provider=row.provider,
        state=row.state,
        pull=dict(row.pull),
        replays=[ReplayOut.model_validate(r) for r in replays],
        play_token=play_token,
    )


def room_out(
    room: Room,
    *,
    subscribers: int = 0,
    subscribed: bool = False,
    stream: StreamOut | None = None,
    figures: RoomFigures | None = None,
) -> RoomOut:
    out = RoomOut(
        id=room.id,
        shop_id=room.shop_id,
        streamer_id=room.streamer_id,
        title=room.title,
        cover_url=room.cover_url,
        description=room.description,
        state=room.state,
        scheduled_at=room.scheduled_at,
        started_at=room.started_at,
        ended_at=room.ended_at,
        end_reason=room.end_reason,
        explaining_listing_id=room.explaining_listing_id,
        subscriber_count=subscribers,
        subscribed=subscribed,
        allowed_transitions=sorted(ROOM.allowed(room.state)),
        stream=stream,
    )
    if figures is not None:  # staff's room list: a live room's figures over every process
        out.figures = LiveFigures.model_validate(figures, from_attributes=True)
    return out


def listing_out(line: CartLine, room: Room) -> ListingOut:
    """A listing as the cart shows it; once the room has ended no move is offered."""
    prices = [s.price_minor for s in line.skus] or [0]
    product, a = line.product, line.allotment
    return ListingOut(
        id=line.listing.id,
        room_id=line.listing.room_id,
        product_id=product.id,
        position=line.listing.position,
        status=line.listing.status,
        live_price_minor=line.listing.live_price_minor,
        currency=line.listing.currency,
        explaining=line.listing.id == room.explaining_listing_id,
        units_left=line.units_left,
        stock=a.total if a is not None else 0,
        limit_per_user=a.limit_per_user if a is not None else None,
        starts_at=a.starts_at if a is not None else None,
        product=ProductSummary(
            id=product.id,
            title=product.title,
            image=(product.images or [None])[0],
            category=product.category,
            price_min_minor=min(prices),
            price_max_minor=max(prices),
            stock=sum(s.stock for s in line.skus),
        ),
        skus=[sku_out(s) for s in line.skus],
        allowed_statuses=[] if room.state in FINAL else sorted(LISTING.allowed(line.listing.status)),
    )


def statement_check_out(check: StatementCheck) -> StatementCheckOut:
    """A day's statement compared with our payments and refunds."""
    return StatementCheckOut(
        day=check.day,
        lines=check.lines,
        matched=check.matched,
        fees=[FeeOut(currency=c, amount_minor=m) for c, m in sorted(check.fees.items())],
        mismatches=check.flags,
    )
