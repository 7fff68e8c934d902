"""Buying-area actions that own their transactions, one per business fact, each called once by the edge:
buy in a room, move an order (the action picks the capacity the caller acts in), ship many orders,
configure a sale's stock; and reading an order as its buyer, shop or staff.

What follows a fact (sold out, back on sale, the stock ledger, the "just bought" notice) is never run
here: it reacts to the committed events (``live.ordering.reactions``). An action whose caller reads
what those reactions change waits for them, bounded (``Reactions.settle``); a crash only delays them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commerce.core.errors import DomainError, NotFound, PurchaseRefused
from commerce.core.identity import Principal, Role
from commerce.orders.models import Allotment, Order, OrderStatus
from commerce.orders.transitions import MOVERS, ORDER, Actor
from commerce.shops.actions import membership, require_operator
from commerce.shops.models import MemberRole
from live.container import Services
from live.ordering import actions
from live.ordering.reactions import LEDGER_MIRROR, STOCK_REACTIONS


@dataclass(frozen=True)
class Bought:
    order: Order
    replayed: bool  # the answer to a retry with the same Idempotency-Key: the order it placed


async def buy(
    services: Services,
    buyer: Principal,
    room_id: int,
    listing_id: int,
    *,
    sku_id: int,
    quantity: int,
    address: dict[str, Any],
    key: str,
    request_json: str,
) -> Bought:
    """Buy a listing in a live room. ``request_json`` is the request as the edge read it (fields in their
    declared order), so retries of the same request hash alike however the client wrote its JSON."""
    request_hash = hashlib.sha256(f"{room_id}:{listing_id}:{request_json}".encode()).hexdigest()
    orders = services.orders
    # a ledger that keeps key marks answers retries itself (no database read for a first attempt)
    earlier = None if orders.stock.keeps_marks else await orders.replay(buyer.user_id, key, request_hash)
    if earlier is None:
        sale = await services.sale_cache.get(room_id, listing_id)
        try:
            draft = actions.draft_order(
                sale,
                buyer,
                sku_id=sku_id,
                quantity=quantity,
                address=address,
                key=key,
                request_hash=request_hash,
            )
        except PurchaseRefused:  # the room ended or the listing went off: a retry still gets its order
            earlier = await orders.replay(buyer.user_id, key, request_hash)
            if earlier is None:
                raise
    if earlier is None:
        placed = await orders.purchase(draft)
        if placed.created:
            services.metrics.orders.labels("created").inc()
            if placed.left == 0:  # the last unit: its buyer's answer comes once the listing says so
                await services.reactions.settle(STOCK_REACTIONS)
            return Bought(placed.order, replayed=False)
        earlier = placed.order
    services.metrics.orders.labels("replayed").inc()
    return Bought(earlier, replayed=True)


# --- reading and moving orders -------------------------------------------------------------------


async def capacities(services: Services, user: Principal, order: Order) -> set[Actor]:
    """What the caller is to the order: its buyer, an operator of its shop, staff (or nothing)."""
    found: set[Actor] = set()
    if user.user_id == order.buyer_id:
        found.add(Actor.BUYER)
    if user.is_staff:
        found.add(Actor.STAFF)
    if user.has(Role.SHOP_OPERATOR):
        async with services.db.read() as s:
            m = await membership(s, order.shop_id, user.user_id)
        if m is not None and m.role == MemberRole.OPERATOR:
            found.add(Actor.SHOP)
    return found


async def order_for(services: Services, user: Principal, order_id: int) -> tuple[Order, set[Actor]]:
    """The order and what the caller is to it; strangers get 404 (orders are private)."""
    async with services.db.read() as s:
        order = await s.get(Order, order_id)
    if order is None:
        raise NotFound("order", order_id)
    found = await capacities(services, user, order)
    if not found:
        raise NotFound("order", order_id)
    return order, found


def _actor(order: Order, target: OrderStatus, found: set[Actor]) -> Actor:
    ORDER.check(order.status, target)
    movers = MOVERS[(order.status, target)] & found
    # the buyer acts as buyer even if they are also staff; then shop, then staff
    for actor in (Actor.BUYER, Actor.SHOP, Actor.STAFF):
        if actor in movers:
            return actor
    return next(iter(found))  # refused by the move with the allowed actors named


async def move_order(
    services: Services,
    user: Principal,
    order_id: int,
    target: OrderStatus,
    *,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
    shop_id: int | None = None,
) -> tuple[Order, set[Actor]]:
    """Move an order in the capacity the caller holds for that move (``shop_id``: only an order of
    that shop). Stock it frees goes back on sale by the stock reactions, waited for here."""
    order, found = await order_for(services, user, order_id)
    if shop_id is not None and order.shop_id != shop_id:
        raise NotFound("order", order_id)
    actor = _actor(order, target, found)
    moved = await services.orders.move(
        order_id, target, actor=actor, actor_id=user.user_id, reason=reason, changes=changes
    )
    if moved.left is not None:
        await services.reactions.settle(STOCK_REACTIONS)
    return moved.order, found


@dataclass(frozen=True)
class Shipment:
    order_id: int
    carrier: str
    tracking_no: str


async def ship_orders(
    services: Services, user: Principal, shop_id: int, shipments: list[Shipment]
) -> list[tuple[int, Order | DomainError]]:
    """Ship many paid orders of a shop; each succeeds (the moved order) or fails (its error) alone."""
    async with services.db.read() as s:
        await require_operator(s, shop_id, user)
    results: list[tuple[int, Order | DomainError]] = []
    for item in shipments:
        changes = {"carrier": item.carrier, "tracking_no": item.tracking_no}
        try:
            order, _ = await move_order(
                services, user, item.order_id, OrderStatus.SHIPPED, changes=changes, shop_id=shop_id
            )
            results.append((item.order_id, order))
        except DomainError as exc:
            results.append((item.order_id, exc))
    return results


# --- stock ---------------------------------------------------------------------------------------


async def set_stock(
    services: Services,
    user: Principal,
    room_id: int,
    listing_id: int,
    *,
    stock: int,
    limit_per_user: int | None,
    starts_at: datetime | None,
) -> Allotment:
    """The room's shop sets a listing's units, per-buyer limit and start; the stock ledger learns it by
    the ledger-mirror reaction (waited for, so the next purchase sees it)."""
    async with services.db.transaction() as s:
        allotment = await actions.configure_stock(
            s,
            user,
            room_id,
            listing_id,
            stock=stock,
            limit_per_user=limit_per_user,
            starts_at=starts_at,
            clock=services.clock,
            ledger=services.orders.stock,
        )
    await services.reactions.settle([LEDGER_MIRROR])
    return allotment
