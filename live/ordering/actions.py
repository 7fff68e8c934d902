"""Room-side rules around orders (the room is live, the listing is on sale, the SKU is the listing's)
and the listing flips that stock causes: sold out when the last unit goes, back on sale when it returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.db import Clock
from commerce.core.errors import Conflict, NotFound, PurchaseRefused
from commerce.core.identity import Principal
from commerce.core.transitions import TransitionRecord, record_transition
from commerce.orders import actions as orders
from commerce.orders.models import Allotment, OrderDraft
from commerce.orders.stock import StockLedger
from commerce.orders.transitions import Actor
from live.cart.actions import stock_event
from live.cart.models import Listing, ListingStatus
from live.ordering.sale_cache import SaleFacts
from live.rooms.actions import actor_role, get_room, require_room_manager, room_event
from live.rooms.models import RoomState
from live.rooms.transitions import FINAL

SYSTEM = "system"


async def configure_stock(
    session: AsyncSession,
    actor: Principal,
    room_id: int,
    listing_id: int,
    *,
    stock: int,
    limit_per_user: int | None,
    starts_at: datetime | None,
    clock: Clock,
    ledger: StockLedger,
) -> Allotment:
    """The room's shop sets the units allotted to a listing, the per-buyer limit and the sale's start.
    A listing on sale that is left with no units turns sold_out in the same transaction."""
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    if room.state in FINAL:
        raise Conflict(
            f"room {room_id} is {room.state}; its cart can no longer change",
            details={"room_state": room.state},
        )
    listing = await _listing(session, room_id, listing_id, lock=True)
    now = clock()
    a = await orders.set_allotment(
        session,
        sale_id=listing.id,
        shop_id=room.shop_id,
        total=stock,
        limit_per_user=limit_per_user,
        starts_at=starts_at,
        now=now,
    )
    a.open = listing.status == ListingStatus.ON_SALE
    left = (await orders.units_left(session, ledger, [listing.id]))[listing.id]
    stock_event(session, room, a, left, actor_role(member), now)
    if left <= 0:
        await sold_out(session, room_id, listing_id, clock)
    return a


async def listing_in_room(session: AsyncSession, room_id: int, listing_id: int) -> Listing:
    return await _listing(session, room_id, listing_id)


async def _listing(session: AsyncSession, room_id: int, listing_id: int, *, lock: bool = False) -> Listing:
    stmt = select(Listing).where(Listing.id == listing_id, Listing.room_id == room_id)
    if lock:
        stmt = stmt.with_for_update()
    listing = await session.scalar(stmt)
    if listing is None:
        raise NotFound("listing", listing_id)
    return listing


def draft_order(
    sale: SaleFacts,
    buyer: Principal,
    *,
    sku_id: int,
    quantity: int,
    address: dict[str, Any],
    key: str,
    request_hash: str,
) -> OrderDraft:
    """Check what the room says (live, listing on sale, the SKU belongs to it) and draft the order."""
    if sale.room_state in FINAL:
        raise PurchaseRefused(
            "room_ended", f"room {sale.room_id} has ended", details={"room_state": sale.room_state}
        )
    if sale.room_state != RoomState.LIVE:
        raise PurchaseRefused("room_not_live", f"room {sale.room_id} is not live yet")
    if sale.listing_status == ListingStatus.SOLD_OUT:
        raise PurchaseRefused("sold_out", "sold out", details={"left": 0})
    if sale.listing_status != ListingStatus.ON_SALE:
        raise PurchaseRefused(
            "not_on_sale", "this product is not on sale", details={"status": sale.listing_status}
        )
    sku = sale.skus.get(sku_id)
    if sku is None:
        raise Conflict(
            f"SKU {sku_id} is not one of this listing's product's SKUs", details={"field": "sku_id"}
        )
    price = sale.live_price_minor if sale.live_price_minor is not None else sku.price_minor
    return OrderDraft(
        buyer_id=buyer.user_id,
        buyer_name=buyer.name[:100],
        idempotency_key=key,
        request_hash=request_hash,
        shop_id=sale.shop_id,
        sale_id=sale.listing_id,
        room_id=sale.room_id,
        streamer_id=sale.streamer_id,
        product_id=sale.product_id,
        sku_id=sku_id,
        title=sale.title,
        sku_attributes=sku.attributes,
        quantity=quantity,
        unit_price_minor=price,
        total_minor=price * quantity,
        currency=sale.currency,
        address=address,
    )


async def follow_stock(session: AsyncSession, room_id: int, listing_id: int, clock: Clock) -> bool:
    """Make the listing's status follow its stock as the orders hold it now: no unit left turns it sold
    out, units back after a sold-out flip of ours put it back on sale. Idempotent: run it again and
    nothing changes. Returns whether the listing flipped. The room is locked before anything is read:
    the decision must see what the shop's own moves (a new stock, a status) committed, not what was
    there before them."""
    await get_room(session, room_id, for_update=True)
    left = await orders.units_unheld(session, listing_id)
    if left is None:
        return False
    if left <= 0:
        return await sold_out(session, room_id, listing_id, clock)
    return await back_on_sale(session, room_id, listing_id, clock)


async def sold_out(session: AsyncSession, room_id: int, listing_id: int, clock: Clock) -> bool:
    """The last unit went: the listing turns sold_out for everyone (if it is still on sale)."""
    return await _flip(session, room_id, listing_id, ListingStatus.ON_SALE, ListingStatus.SOLD_OUT, clock)


async def back_on_sale(session: AsyncSession, room_id: int, listing_id: int, clock: Clock) -> bool:
    """Stock came back to a listing that sold out by itself: it goes back on sale (not if the streamer
    marked it sold out, nor after the room ended)."""
    last = await session.scalar(
        select(TransitionRecord)
        .where(TransitionRecord.entity == "listing", TransitionRecord.entity_id == listing_id)
        .order_by(TransitionRecord.id.desc())
        .limit(1)
    )
    if last is None or last.actor_id != SYSTEM or last.to_state != ListingStatus.SOLD_OUT:
        return False
    return await _flip(session, room_id, listing_id, ListingStatus.SOLD_OUT, ListingStatus.ON_SALE, clock)


async def _flip(
    session: AsyncSession,
    room_id: int,
    listing_id: int,
    expected: ListingStatus,
    target: ListingStatus,
    clock: Clock,
) -> bool:
    room = await get_room(session, room_id, for_update=True)
    if room.state != RoomState.LIVE:
        return False
    listing = await _listing(session, room_id, listing_id, lock=True)
    if listing.status != expected:
        return False
    now = clock()
    listing.status, listing.updated_at = target, now
    await record_transition(
        session,
        entity="listing",
        entity_id=listing.id,
        from_state=expected,
        to_state=target,
        actor_id=SYSTEM,
        actor_role=Actor.SYSTEM,
        at=now,
        reason="stock" if target == ListingStatus.SOLD_OUT else "stock returned",
    )
    room_event(
        session, room, "listing.status", {"listing_id": listing.id, "from": expected, "status": target}, now
    )
    await orders.set_open(session, listing.id, target == ListingStatus.ON_SALE, now)
    return True
