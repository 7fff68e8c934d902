"""Room cart actions: pin products, order them, flip their status (going on sale needs units left, and may
add them in the same move), set the live price, explain one; the cart as viewers see it, with the units
the room has left of each listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.actions import get_product, skus_of
from commerce.catalog.models import Product, ProductStatus, Sku
from commerce.core.db import Clock
from commerce.core.errors import Conflict, InvalidInput, NoStockLeft, NotFound
from commerce.core.identity import Principal
from commerce.core.money import Money
from commerce.core.transitions import record_transition
from commerce.orders.actions import MAX_UNITS, set_allotment, units_left
from commerce.orders.actions import set_open as set_sale_open
from commerce.orders.models import Allotment
from commerce.orders.stock import StockLedger
from live.cart.models import Listing, ListingStatus
from live.cart.transitions import LISTING
from live.rooms.actions import actor_role, get_room, require_room_manager, room_event
from live.rooms.models import Room, RoomState
from live.rooms.transitions import FINAL

MAX_LISTINGS_PER_ROOM = 200


@dataclass(frozen=True)
class CartLine:
    """A listing with what a viewer sees of its product."""

    listing: Listing
    product: Product
    skus: list[Sku]
    units_left: int  # what the room still has to sell of it
    allotment: Allotment | None = None  # the room's stock of it (units, per-user limit, start), if set


def _ensure_open(room: Room) -> None:
    if room.state in FINAL:
        raise Conflict(
            f"room {room.id} is {room.state}; its cart can no longer change",
            details={"room_state": room.state},
        )


async def _load(session: AsyncSession, room_id: int, listing_id: int) -> Listing:
    listing = await session.scalar(
        select(Listing).where(Listing.id == listing_id, Listing.room_id == room_id).with_for_update()
    )
    if listing is None:
        raise NotFound("listing", listing_id)
    return listing


async def add_listing(
    session: AsyncSession,
    actor: Principal,
    room_id: int,
    product_id: int,
    live_price_minor: int | None,
    clock: Clock,
) -> Listing:
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    _ensure_open(room)
    product = await get_product(session, product_id)
    if product.shop_id != room.shop_id:
        raise Conflict(
            f"product {product_id} belongs to another shop",
            details={"field": "product_id", "shop_id": room.shop_id},
        )
    if product.status != ProductStatus.ACTIVE:
        raise Conflict(f"product {product_id} is {product.status}", details={"field": "product_id"})
    if live_price_minor is not None:
        Money(live_price_minor, product.currency)
    existing = await session.scalar(
        select(Listing.id).where(Listing.room_id == room_id, Listing.product_id == product_id)
    )
    if existing is not None:
        raise Conflict(
            f"product {product_id} is already in room {room_id}'s cart", details={"listing_id": existing}
        )
    count = int(
        await session.scalar(select(func.count()).select_from(Listing).where(Listing.room_id == room_id)) or 0
    )
    if count >= MAX_LISTINGS_PER_ROOM:
        raise Conflict("the room's cart is full", details={"max": MAX_LISTINGS_PER_ROOM})
    top = await session.scalar(select(func.max(Listing.position)).where(Listing.room_id == room_id))
    now = clock()
    listing = Listing(
        room_id=room_id,
        product_id=product_id,
        position=(top or 0) + 1,
        status=ListingStatus.PENDING,
        live_price_minor=live_price_minor,
        currency=product.currency,
        created_at=now,
        updated_at=now,
    )
    session.add(listing)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"product {product_id} is already in room {room_id}'s cart") from exc
    await record_transition(
        session,
        entity="listing",
        entity_id=listing.id,
        from_state=None,
        to_state=ListingStatus.PENDING,
        actor_id=actor.user_id,
        actor_role=actor_role(member),
        at=now,
    )
    room_event(
        session,
        room,
        "listing.added",
        {
            "listing_id": listing.id,
            "product_id": product_id,
            "status": listing.status,
            "position": listing.position,
            "live_price_minor": live_price_minor,
            "currency": listing.currency,
        },
        now,
    )
    return listing


async def set_status(
    session: AsyncSession,
    actor: Principal,
    room_id: int,
    listing_id: int,
    target: ListingStatus,
    clock: Clock,
    *,
    ledger: StockLedger,
    add_stock: int | None = None,
) -> Listing:
    """Move a listing. Going on sale needs the room live and units left to sell in the room;
    ``add_stock`` (only with a move to on_sale) adds units to the room's allotment in the same move,
    creating it if the listing has none, so a sold-out listing can come back with more."""
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    _ensure_open(room)
    listing = await _load(session, room_id, listing_id)
    LISTING.check(listing.status, target)
    if add_stock is not None and target != ListingStatus.ON_SALE:
        raise InvalidInput("add_stock goes with a move to on_sale", details={"field": "add_stock"})
    if target == ListingStatus.ON_SALE and room.state != RoomState.LIVE:
        raise Conflict(
            f"room {room.id} is {room.state}; a listing goes on sale only while the room is live",
            details={"room_state": room.state, "required_room_state": RoomState.LIVE},
        )
    now = clock()
    role = actor_role(member)
    restocked = await _add_units(session, room, listing, add_stock, now) if add_stock else None
    if target == ListingStatus.ON_SALE:
        left = (await units_left(session, ledger, [listing.id]))[listing.id]
        if left <= 0:
            raise NoStockLeft(
                f"listing {listing.id} has no units left to sell in room {room.id}: allot stock "
                "(PUT .../stock) or add it in the same move (add_stock)",
                details={
                    "listing_id": listing.id,
                    "from": listing.status,
                    "to": target,
                    "units_left": 0,
                    "allowed": sorted(LISTING.allowed(listing.status) - {ListingStatus.ON_SALE}),
                },
            )
        if restocked is not None:
            stock_event(session, room, restocked, left, role, now)
    previous = listing.status
    listing.status = target
    listing.updated_at = now
    await record_transition(
        session,
        entity="listing",
        entity_id=listing.id,
        from_state=previous,
        to_state=target,
        actor_id=actor.user_id,
        actor_role=role,
        at=now,
        reason=f"{add_stock} units added" if add_stock else None,
    )
    room_event(
        session,
        room,
        "listing.status",
        {"listing_id": listing.id, "from": previous, "status": target},
        now,
    )
    await set_sale_open(session, listing.id, target == ListingStatus.ON_SALE, now)
    if target == ListingStatus.OFF and room.explaining_listing_id == listing.id:
        room.explaining_listing_id = None
        room_event(session, room, "room.explaining", {"listing_id": None}, now)
    return listing


async def _add_units(
    session: AsyncSession, room: Room, listing: Listing, units: int, now: datetime
) -> Allotment:
    current = await session.get(Allotment, listing.id, with_for_update=True)
    total = (current.total if current is not None else 0) + units
    if total > MAX_UNITS:
        raise Conflict(
            f"an allotment holds at most {MAX_UNITS} units",
            details={"field": "add_stock", "stock": total - units, "max": MAX_UNITS},
        )
    return await set_allotment(
        session,
        sale_id=listing.id,
        shop_id=room.shop_id,
        total=total,
        limit_per_user=current.limit_per_user if current is not None else None,
        starts_at=current.starts_at if current is not None else None,
        now=now,
    )


def stock_event(session: AsyncSession, room: Room, a: Allotment, left: int, by: str, now: datetime) -> None:
    """Tell the room a listing's allotment changed (``by``: the role of who changed it)."""
    room_event(
        session,
        room,
        "listing.stock",
        {
            "listing_id": a.sale_id,
            "stock": a.total,
            "units_left": left,
            "limit_per_user": a.limit_per_user,
            "starts_at": a.starts_at.isoformat() if a.starts_at else None,
            "by": by,
        },
        now,
    )


async def set_live_price(
    session: AsyncSession,
    actor: Principal,
    room_id: int,
    listing_id: int,
    live_price_minor: int | None,
    clock: Clock,
) -> Listing:
    room = await get_room(session, room_id, for_update=True)
    await require_room_manager(session, room, actor)
    _ensure_open(room)
    listing = await _load(session, room_id, listing_id)
    if live_price_minor is not None:
        Money(live_price_minor, listing.currency)
    now = clock()
    listing.live_price_minor = live_price_minor
    listing.updated_at = now
    room_event(
        session,
        room,
        "listing.price",
        {"listing_id": listing.id, "live_price_minor": live_price_minor, "currency": listing.currency},
        now,
    )
    return listing


async def remove_listing(
    session: AsyncSession, actor: Principal, room_id: int, listing_id: int, clock: Clock
) -> None:
    """Unpin a listing that never went on sale; one that sold stays, switched off, for the record."""
    room = await get_room(session, room_id, for_update=True)
    await require_room_manager(session, room, actor)
    _ensure_open(room)
    listing = await _load(session, room_id, listing_id)
    if listing.status != ListingStatus.PENDING:
        raise Conflict(
            f"listing {listing_id} is {listing.status}; only pending listings can be removed (switch it off)",
            details={"status": listing.status},
        )
    if room.explaining_listing_id == listing.id:
        room.explaining_listing_id = None
    await session.delete(listing)
    room_event(session, room, "listing.removed", {"listing_id": listing_id}, clock())


async def reorder(
    session: AsyncSession, actor: Principal, room_id: int, listing_ids: list[int], clock: Clock
) -> list[Listing]:
    """Set the cart's order; ``listing_ids`` must name every listing of the room exactly once."""
    room = await get_room(session, room_id, for_update=True)
    await require_room_manager(session, room, actor)
    _ensure_open(room)
    listings = list(await session.scalars(select(Listing).where(Listing.room_id == room_id)))
    by_id = {x.id: x for x in listings}
    if len(set(listing_ids)) != len(listing_ids) or set(listing_ids) != set(by_id):
        raise Conflict(
            "listing_ids must name every listing of the room exactly once",
            details={"field": "listing_ids", "expected": sorted(by_id)},
        )
    now = clock()
    for pos, lid in enumerate(listing_ids, start=1):
        by_id[lid].position = pos
        by_id[lid].updated_at = now
    room_event(session, room, "cart.order", {"listing_ids": listing_ids}, now)
    return sorted(listings, key=lambda x: x.position)


async def explain(
    session: AsyncSession, actor: Principal, room_id: int, listing_id: int | None, clock: Clock
) -> Room:
    """Mark one listing as "explaining now" (or none). Only while the room is live."""
    room = await get_room(session, room_id, for_update=True)
    await require_room_manager(session, room, actor)
    if room.state != RoomState.LIVE:
        raise Conflict(
            f"room {room.id} is {room.state}; explaining happens while live",
            details={"room_state": room.state, "required_room_state": RoomState.LIVE},
        )
    if listing_id is not None:
        listing = await _load(session, room_id, listing_id)
        if listing.status == ListingStatus.OFF:
            raise Conflict(f"listing {listing_id} is off", details={"status": listing.status})
    now = clock()
    room.explaining_listing_id = listing_id
    room.updated_at = now
    room_event(session, room, "room.explaining", {"listing_id": listing_id}, now)
    return room


async def pinned(session: AsyncSession, room_id: int) -> list[tuple[Listing, Product]]:
    """The room's listings with their products, in the streamer's order."""
    rows = (
        await session.execute(
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Listing.room_id == room_id)
            .order_by(Listing.position, Listing.id)
        )
    ).all()
    return [(lst, p) for lst, p in rows]


async def cart(session: AsyncSession, room_id: int, ledger: StockLedger) -> list[CartLine]:
    """The room's cart as viewers see it, in the streamer's order, with the units the room has left."""
    rows = await pinned(session, room_id)
    skus = await skus_of(session, [p.id for _, p in rows])
    ids = [lst.id for lst, _ in rows]
    left = await units_left(session, ledger, ids)
    rows_a = await session.scalars(select(Allotment).where(Allotment.sale_id.in_(ids)))
    allotted = {a.sale_id: a for a in rows_a}
    return [
        CartLine(
            listing=lst, product=p, skus=skus[p.id], units_left=left[lst.id], allotment=allotted.get(lst.id)
        )
        for lst, p in rows
    ]


async def listing_line(session: AsyncSession, room_id: int, listing_id: int, ledger: StockLedger) -> CartLine:
    for line in await cart(session, room_id, ledger):
        if line.listing.id == listing_id:
            return line
    raise NotFound("listing", listing_id)
