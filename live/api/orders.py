"""Buying in the room and the order lifecycle: stock per listing, orders, shipping, receipt."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from commerce.core.errors import DomainError, NotFound, PurchaseRefused
from commerce.core.identity import Principal, Role
from commerce.core.transitions import history
from commerce.orders.machine import MOVERS, ORDER, Actor
from commerce.orders.models import Allotment, Order, OrderStatus
from commerce.shops.actions import membership, require_operator
from commerce.shops.models import MemberRole
from live.api.errors import error_body
from live.api.routing import IDEMPOTENCY_HEADER, Api, Ctx
from live.api.schemas import (
    BulkShipIn,
    BulkShipOut,
    BulkShipResult,
    OptionalReasonIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrdersQuery,
    ShipIn,
    StockIn,
    StockOut,
    TransitionList,
    TransitionOut,
)
from live.ordering import actions
from live.ordering.jobs import stock_returned

api = Api()
TAGS = ["orders"]


def order_out(order: Order, capacities: set[Actor] | None = None) -> OrderOut:
    out = OrderOut.model_validate(order)
    if capacities is not None:
        out.allowed_statuses = sorted(
            t for t in ORDER.allowed(order.status) if MOVERS[(order.status, t)] & capacities
        )
    return out


async def _capacities(ctx: Ctx, order: Order) -> set[Actor]:
    user = ctx.user
    found: set[Actor] = set()
    if user.user_id == order.buyer_id:
        found.add(Actor.BUYER)
    if user.is_staff:
        found.add(Actor.STAFF)
    if user.has(Role.SHOP_OPERATOR):
        async with ctx.services.db.read() as s:
            m = await membership(s, order.shop_id, user.user_id)
        if m is not None and m.role == MemberRole.OPERATOR:
            found.add(Actor.SHOP)
    return found


async def _load_for(ctx: Ctx, order_id: int) -> tuple[Order, set[Actor]]:
    """The order and what the caller is to it; strangers get 404 (orders are private)."""
    async with ctx.services.db.read() as s:
        order = await s.get(Order, order_id)
    if order is None:
        raise NotFound("order", order_id)
    capacities = await _capacities(ctx, order)
    if not capacities:
        raise NotFound("order", order_id)
    return order, capacities


def _pick(order: Order, target: OrderStatus, capacities: set[Actor]) -> Actor:
    ORDER.check(order.status, target)
    movers = MOVERS[(order.status, target)] & capacities
    # the buyer acts as buyer even if they are also staff; then shop, then staff
    for actor in (Actor.BUYER, Actor.SHOP, Actor.STAFF):
        if actor in movers:
            return actor
    return next(iter(capacities))  # refused by check_move with the allowed actors named


async def _move(ctx: Ctx, order_id: int, target: OrderStatus, **kw: Any) -> OrderOut:
    order, capacities = await _load_for(ctx, order_id)
    actor = _pick(order, target, capacities)
    moved = await ctx.services.orders.move(order_id, target, actor=actor, actor_id=ctx.user.user_id, **kw)
    await stock_returned(ctx.services, moved)
    return order_out(moved.order, capacities)


# --- stock ---------------------------------------------------------------------------------------


async def _stock_out(ctx: Ctx, a: Allotment) -> StockOut:
    counters = await ctx.services.orders.stock.counters(a.sale_id)
    sold = counters.sold if counters is not None else a.sold
    return StockOut(
        listing_id=a.sale_id,
        stock=a.total,
        sold=sold,
        units_left=max(0, a.total - sold),
        limit_per_user=a.limit_per_user,
        starts_at=a.starts_at,
        on_sale=a.open,
    )


@api.op(
    "PUT",
    "/rooms/{room_id:int}/listings/{listing_id:int}/stock",
    summary="Set the units allotted to a listing, the per-buyer limit and the sale's start (a listing on "
    "sale left with no units turns sold_out)",
    tags=TAGS,
    body=StockIn,
    response=StockOut,
)
async def set_stock(ctx: Ctx) -> StockOut:
    body: StockIn = ctx.body
    async with ctx.services.db.transaction() as s:
        a = await actions.configure_stock(
            s,
            ctx.user,
            ctx.path["room_id"],
            ctx.path["listing_id"],
            stock=body.stock,
            limit_per_user=body.limit_per_user,
            starts_at=body.starts_at,
            clock=ctx.services.clock,
            ledger=ctx.services.orders.stock,
        )
    await ctx.services.orders.mirror(a.sale_id)
    return await _stock_out(ctx, a)


@api.op(
    "GET",
    "/rooms/{room_id:int}/listings/{listing_id:int}/stock",
    summary="A listing's stock: allotted, sold, limit, start",
    tags=TAGS,
    response=StockOut,
    auth="public",
)
async def get_stock(ctx: Ctx) -> StockOut:
    async with ctx.services.db.read() as s:
        await actions.listing_in_room(s, ctx.path["room_id"], ctx.path["listing_id"])
        a = await s.get(Allotment, ctx.path["listing_id"])
    if a is None:
        raise NotFound("stock of listing", ctx.path["listing_id"])
    return await _stock_out(ctx, a)


# --- buying --------------------------------------------------------------------------------------


@api.op(
    "POST",
    "/rooms/{room_id:int}/listings/{listing_id:int}/orders",
    summary="Buy a listing in the room (Idempotency-Key required; a retry returns the same order)",
    tags=TAGS,
    body=OrderIn,
    response=OrderOut,
    status=201,
    idempotency="required",
)
async def place_order(ctx: Ctx) -> Response:
    body: OrderIn = ctx.body
    services = ctx.services
    buyer: Principal = ctx.user
    room_id, listing_id = ctx.path["room_id"], ctx.path["listing_id"]
    key = ctx.request.headers[IDEMPOTENCY_HEADER]
    # the body as the model reads it (fields in their declared order), so retries of the same request
    # hash alike however the client ordered or spaced its JSON
    request_hash = hashlib.sha256(f"{room_id}:{listing_id}:{body.model_dump_json()}".encode()).hexdigest()
    # a ledger that keeps key marks answers retries itself (no database read for a first attempt)
    earlier = (
        None
        if services.orders.stock.keeps_marks
        else await services.orders.replay(buyer.user_id, key, request_hash)
    )
    if earlier is None:
        view = await services.sale_views.get(room_id, listing_id)
        try:
            draft = actions.draft_order(
                view,
                buyer,
                sku_id=body.sku_id,
                quantity=body.quantity,
                address=body.address.model_dump(mode="json"),
                key=key,
                request_hash=request_hash,
            )
        except PurchaseRefused:  # the room ended or the listing went off: a retry still gets its order
            earlier = await services.orders.replay(buyer.user_id, key, request_hash)
            if earlier is None:
                raise
    if earlier is None:
        placed = await services.orders.purchase(draft)
        if placed.created and placed.left == 0:
            async with services.db.transaction() as s:
                flipped = await actions.sold_out(s, room_id, listing_id, services.clock)
            if flipped:
                await services.orders.mirror(listing_id)
                services.sale_views.forget(room_id)
        if placed.created:
            services.metrics.orders.labels("created").inc()
            services.hub.add_bought(room_id, buyer.name or buyer.user_id, placed.order.title)
            return Response(order_out(placed.order).model_dump_json(), 201, media_type="application/json")
        earlier = placed.order
    services.metrics.orders.labels("replayed").inc()
    return Response(order_out(earlier).model_dump_json(), 200, media_type="application/json")


# --- reading -------------------------------------------------------------------------------------


def _page_query(q: OrdersQuery) -> Any:
    stmt = select(Order)
    if q.status:
        stmt = stmt.where(Order.status.in_(q.status))
    if q.room_id is not None:
        stmt = stmt.where(Order.room_id == q.room_id)
    return stmt


async def _page(ctx: Ctx, stmt: Any, q: OrdersQuery) -> OrderPage:
    async with ctx.services.db.read() as s:
        total = int(await s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = list(await s.scalars(stmt.order_by(Order.id.desc()).offset(q.offset).limit(q.limit)))
    return OrderPage(items=[order_out(o) for o in rows], total=total, offset=q.offset, limit=q.limit)


@api.op(
    "GET", "/me/orders", summary="My orders, newest first", tags=TAGS, query=OrdersQuery, response=OrderPage
)
async def my_orders(ctx: Ctx) -> OrderPage:
    q: OrdersQuery = ctx.query
    return await _page(ctx, _page_query(q).where(Order.buyer_id == ctx.user.user_id), q)


@api.op(
    "GET",
    "/shops/{shop_id:int}/orders",
    summary="A shop's orders (its operators and platform staff), filtered by status and room",
    tags=TAGS,
    query=OrdersQuery,
    response=OrderPage,
)
async def shop_orders(ctx: Ctx) -> OrderPage:
    q: OrdersQuery = ctx.query
    shop_id = ctx.path["shop_id"]
    if not ctx.user.is_staff:
        async with ctx.services.db.read() as s:
            await require_operator(s, shop_id, ctx.user)
    return await _page(ctx, _page_query(q).where(Order.shop_id == shop_id), q)


@api.op(
    "GET",
    "/orders/{order_id:int}",
    summary="One order (its buyer, shop and staff)",
    tags=TAGS,
    response=OrderOut,
)
async def get_order(ctx: Ctx) -> OrderOut:
    order, capacities = await _load_for(ctx, ctx.path["order_id"])
    return order_out(order, capacities)


@api.op(
    "GET",
    "/orders/{order_id:int}/history",
    summary="Every move of the order (who, when, from, to)",
    tags=TAGS,
    response=TransitionList,
)
async def order_history(ctx: Ctx) -> TransitionList:
    order, _ = await _load_for(ctx, ctx.path["order_id"])
    async with ctx.services.db.read() as s:
        rows = await history(s, "order", order.id)
    return TransitionList(items=[TransitionOut.model_validate(r) for r in rows])


# --- moves ---------------------------------------------------------------------------------------


@api.op(
    "POST",
    "/orders/{order_id:int}/cancel",
    summary="Cancel an unpaid order (its buyer, or staff); its stock goes back on sale",
    tags=TAGS,
    body=OptionalReasonIn,
    response=OrderOut,
)
async def cancel_order(ctx: Ctx) -> OrderOut:
    body: OptionalReasonIn = ctx.body
    return await _move(ctx, ctx.path["order_id"], OrderStatus.CANCELLED, reason=body.reason)


@api.op(
    "POST",
    "/orders/{order_id:int}/ship",
    summary="Ship a paid order with its carrier and tracking number (the shop's operators)",
    tags=TAGS,
    body=ShipIn,
    response=OrderOut,
)
async def ship_order(ctx: Ctx) -> OrderOut:
    body: ShipIn = ctx.body
    changes = {"carrier": body.carrier, "tracking_no": body.tracking_no}
    return await _move(ctx, ctx.path["order_id"], OrderStatus.SHIPPED, changes=changes)


@api.op(
    "POST",
    "/shops/{shop_id:int}/orders/ship",
    summary="Ship many paid orders at once; each item succeeds or fails on its own",
    tags=TAGS,
    body=BulkShipIn,
    response=BulkShipOut,
)
async def ship_orders(ctx: Ctx) -> BulkShipOut:
    body: BulkShipIn = ctx.body
    shop_id = ctx.path["shop_id"]
    async with ctx.services.db.read() as s:
        await require_operator(s, shop_id, ctx.user)
    results: list[BulkShipResult] = []
    for item in body.items:
        try:
            order, capacities = await _load_for(ctx, item.order_id)
            if order.shop_id != shop_id:
                raise NotFound("order", item.order_id)
            actor = _pick(order, OrderStatus.SHIPPED, capacities)
            moved = await ctx.services.orders.move(
                item.order_id,
                OrderStatus.SHIPPED,
                actor=actor,
                actor_id=ctx.user.user_id,
                changes={"carrier": item.carrier, "tracking_no": item.tracking_no},
            )
            results.append(BulkShipResult(order_id=item.order_id, ok=True, status=moved.order.status))
        except DomainError as exc:
            results.append(BulkShipResult(order_id=item.order_id, ok=False, error=error_body(exc)))
    return BulkShipOut(results=results)


@api.op(
    "POST",
    "/orders/{order_id:int}/deliver",
    summary="Mark a shipped order delivered (the shop's operators or staff)",
    tags=TAGS,
    response=OrderOut,
)
async def deliver_order(ctx: Ctx) -> OrderOut:
    return await _move(ctx, ctx.path["order_id"], OrderStatus.DELIVERED)


@api.op(
    "POST",
    "/orders/{order_id:int}/confirm-receipt",
    summary="The buyer confirms receipt: the order completes",
    tags=TAGS,
    response=OrderOut,
)
async def confirm_receipt(ctx: Ctx) -> OrderOut:
    return await _move(ctx, ctx.path["order_id"], OrderStatus.COMPLETED)
