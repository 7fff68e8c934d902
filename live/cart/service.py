"""Cart actions that own their transaction and what must follow it on this process, one per business
fact, each called once by the edge: a listing's move (its stock ledger learns it by the ledger-mirror
reaction, waited for, so the next purchase sees it) and its live price (the next purchase pays it).
This process's cached sale facts are dropped at once; other processes drop theirs on the state event."""

from __future__ import annotations

from commerce.core.identity import Principal
from live.cart import actions
from live.cart.models import Listing, ListingStatus
from live.container import Services


async def set_listing_status(
    services: Services,
    actor: Principal,
    room_id: int,
    listing_id: int,
    target: ListingStatus,
    *,
    add_stock: int | None = None,
) -> Listing:
    """Move a listing (``live.cart.actions.set_status``), then wait for the stock ledger to learn it."""
    async with services.db.transaction() as s:
        listing = await actions.set_status(
            s,
            actor,
            room_id,
            listing_id,
            target,
            services.clock,
            ledger=services.orders.stock,
            add_stock=add_stock,
        )
    await services.reactions.settle()  # the stock ledger learns it (a reaction): the next buy sees it
    services.sale_cache.forget(room_id)
    return listing


async def set_live_price(
    services: Services, actor: Principal, room_id: int, listing_id: int, price_minor: int | None
) -> Listing:
    """Set or clear a listing's live price (``live.cart.actions.set_live_price``)."""
    async with services.db.transaction() as s:
        listing = await actions.set_live_price(s, actor, room_id, listing_id, price_minor, services.clock)
    services.sale_cache.forget(room_id)  # the next purchase pays the new price
    return listing
