"""Buying in the room and the order lifecycle: stock per listing, orders, shipping, receipt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from commerce.core.errors import NotFound
from commerce.core.transitions import history
from commerce.orders.models import Allotment, Order, OrderStatus
from commerce.orders.transitions import MOVERS, ORDER, Actor
from commerce.shops.actions import require_operator
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
from live.ordering import actions, service

api = Api()
TAGS = ["orders"]


def order_out(order: Order, capacities: set[Actor] | None = None) -> OrderOut:
    out = OrderOut.model_validate(order)
    if capacities is not None:
        out.allowed_statuses = sorted(
            t for t in ORDER.allowed(order.status) if MOVERS[(order.status, t)] & capacities
        )
    return out


async def _move(ctx: Ctx, target: OrderStatus, **kw: Any) -> OrderOut:
    order, capacities = await service.move_order(ctx.services, ctx.user, ctx.path["order_id"], target, **kw)
    return order_out(order, capacities)


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
    a = await service.set_stock(
        ctx.services,
        ctx.user,
        ctx.path["room_id"],
        ctx.path["listing_id"],
        stock=body.stock,
        limit_per_user=body.limit_per_user,
        starts_at=body.starts_at,
    )
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
    bought = await service.buy(
        ctx.services,
        ctx.user,
        ctx.path["room_id"],
        ctx.path["listing_id"],
        sku_id=body.sku_id,
        quantity=body.quantity,
        address=body.address.model_dump(mode="json"),
        key=ctx.request.headers[IDEMPOTENCY_HEADER],
        request_json=body.model_dump_json(),
    )
    replayed = {"Idempotent-Replayed": "true"} if bought.replayed else None  # a retry: the first answer
    return Response(order_out(bought.order).model_dump_json(), 201, replayed, media_type="application/json")


# --- reading -------------------------------------------------------------------------------------


def _page_query(q: OrdersQuery) -> Any:
    stmt = select(Order)
    if q.status:
        stmt = stmt.where(Order.status.in_(q.status))
    if q.room_id is not None:
        stmt = stmt.where(Order.room_id == q.room_id)
    if q.created_from is not None:
        stmt = stmt.where(Order.created_at >= q.created_from)
    if q.created_to is not None:
        stmt = stmt.where(Order.created_at < q.created_to)
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
    summary="A shop's orders (its operators and platform staff), filtered by status, room and time placed",
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
    order, capacities = await service.order_for(ctx.services, ctx.user, ctx.path["order_id"])
    return order_out(order, capacities)


@api.op(
    "GET",
    "/orders/{order_id:int}/history",
    summary="Every move of the order (who, when, from, to)",
    tags=TAGS,
    response=TransitionList,
)
async def order_history(ctx: Ctx) -> TransitionList:
    order, _ = await service.order_for(ctx.services, ctx.user, ctx.path["order_id"])
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
    return await _move(ctx, OrderStatus.CANCELLED, reason=body.reason)


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
    return await _move(ctx, OrderStatus.SHIPPED, changes=changes)


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
    shipments = [service.Shipment(i.order_id, i.carrier, i.tracking_no) for i in body.items]
    results = await service.ship_orders(ctx.services, ctx.user, ctx.path["shop_id"], shipments)
    return BulkShipOut(
        results=[
            BulkShipResult(order_id=i, ok=True, status=r.status)
            if isinstance(r, Order)
            else BulkShipResult(order_id=i, ok=False, error=error_body(r))
            for i, r in results
        ]
    )


@api.op(
    "POST",
    "/orders/{order_id:int}/deliver",
    summary="Mark a shipped order delivered (the shop's operators or staff)",
    tags=TAGS,
    response=OrderOut,
)
async def deliver_order(ctx: Ctx) -> OrderOut:
    return await _move(ctx, OrderStatus.DELIVERED)


@api.op(
    "POST",
    "/orders/{order_id:int}/confirm-receipt",
    summary="The buyer confirms receipt: the order completes",
    tags=TAGS,
    response=OrderOut,
)
async def confirm_receipt(ctx: Ctx) -> OrderOut:
    return await _move(ctx, OrderStatus.COMPLETED)
