"""Order actions inside a transaction: allotments, writing an order, moving it, what orders hold. Writing
and moving orders record the facts (``orders.placed``, ``order.moved``) in the outbox, in the same
transaction, for whatever must follow them (sold out, back on sale, the "just bought" notice)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.errors import Conflict, NotFound
from commerce.core.outbox import record_event, record_user_event
from commerce.core.transitions import TransitionRecord, record_transition
from commerce.orders.models import HOLDING, Allotment, Order, OrderStatus
from commerce.orders.stock import Counters, SaleConfig, StockLedger
from commerce.orders.transitions import Actor, check_move

MAX_UNITS = 10_000_000  # units one allotment may hold
log = logging.getLogger("yellowcart.orders")


def config_of(a: Allotment) -> SaleConfig:
    return SaleConfig(a.sale_id, a.total, a.limit_per_user, a.starts_at, a.open)


async def held(session: AsyncSession, sale_id: int) -> Counters:
    """What the orders of a sale hold: the truth the stock counters are reconciled with."""
    rows = await session.execute(
        select(Order.buyer_id, func.sum(Order.quantity))
        .where(Order.sale_id == sale_id, Order.status.in_(HOLDING))
        .group_by(Order.buyer_id)
    )
    users = {u: int(n) for u, n in rows}
    return Counters(sum(users.values()), users)


async def units_unheld(session: AsyncSession, sale_id: int) -> int | None:
    """Units of the sale that no order holds, by the orders (the truth); None if it has no allotment."""
    total = await session.scalar(select(Allotment.total).where(Allotment.sale_id == sale_id))
    if total is None:
        return None
    held_units = await session.scalar(
        select(func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.sale_id == sale_id, Order.status.in_(HOLDING)
        )
    )
    return int(total) - int(held_units or 0)


ORDERS_PLACED = "orders.placed"  # orders of one sale written together: what the reactions need of them
ORDER_MOVED = "order.moved"


def sale_stream(sale_id: int) -> str:
    return f"sale:{sale_id}"


def _record_placed(session: AsyncSession, orders: list[Order]) -> None:
    """One event per sale for orders written together (a flash sale's batch), not one per order."""
    by_sale: dict[int, list[Order]] = {}
    for o in orders:
        by_sale.setdefault(o.sale_id, []).append(o)
    for sale_id, placed in by_sale.items():
        record_event(
            session,
            stream=sale_stream(sale_id),
            kind=ORDERS_PLACED,
            payload={
                "sale_id": sale_id,
                "room_id": placed[0].room_id,
                "orders": [
                    {
                        "order_id": o.id,
                        "buyer": o.buyer_name or o.buyer_id,
                        "title": o.title,
                        "quantity": o.quantity,
                    }
                    for o in placed
                ],
            },
            at=placed[-1].created_at,
        )


async def units_left(session: AsyncSession, ledger: StockLedger, sale_ids: Sequence[int]) -> dict[int, int]:
    """Units each sale still has to sell: its total as ``session`` reads it, less the units the stock
    ledger counts as taken (or, for a sale the ledger has lost or while it cannot be reached, the units
    its orders hold). A sale without an allotment has none."""
    left = dict.fromkeys(sale_ids, 0)
    if not sale_ids:
        return left
    totals = {
        int(i): int(n)
        for i, n in await session.execute(
            select(Allotment.sale_id, Allotment.total).where(Allotment.sale_id.in_(sale_ids))
        )
    }
    if not totals:
        return left
    try:
        taken = await ledger.sold(list(totals), session)
    except Exception:  # the ledger cannot be reached (Redis down): what the orders hold is the truth
        log.warning("stock ledger unreachable; units left read from the orders", extra={"sales": len(totals)})
        taken = {}
    for sale_id, total in totals.items():
        sold = taken.get(sale_id)
        if sold is None:
            sold = (await held(session, sale_id)).sold
        left[sale_id] = max(0, total - sold)
    return left


async def set_allotment(
    session: AsyncSession,
    *,
    sale_id: int,
    shop_id: int,
    total: int,
    limit_per_user: int | None,
    starts_at: datetime | None,
    now: datetime,
) -> Allotment:
    """Create or change a sale's allotment; it cannot drop below the units orders already hold."""
    a = await session.get(Allotment, sale_id, with_for_update=True)
    holding = (await held(session, sale_id)).sold
    if total < holding:
        raise Conflict(
            f"the stock cannot be set below the {holding} units already ordered",
            details={"field": "stock", "min": holding},
        )
    if a is None:
        a = Allotment(sale_id=sale_id, shop_id=shop_id, total=total, sold=holding, open=False, updated_at=now)
        session.add(a)
    a.total, a.limit_per_user, a.starts_at, a.updated_at = total, limit_per_user, starts_at, now
    await session.flush()
    return a


async def set_open(session: AsyncSession, sale_id: int, open_: bool, now: datetime) -> Allotment | None:
    a = await session.get(Allotment, sale_id, with_for_update=True)
    if a is not None and a.open != open_:
        a.open, a.updated_at = open_, now
    return a


async def by_key(session: AsyncSession, buyer_id: str, key: str) -> Order | None:
    return await session.scalar(select(Order).where(Order.buyer_id == buyer_id, Order.idempotency_key == key))


async def get_order(session: AsyncSession, order_id: int, *, for_update: bool = False) -> Order:
    stmt = select(Order).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    order = await session.scalar(stmt)
    if order is None:
        raise NotFound("order", order_id)
    return order


async def write_order(session: AsyncSession, order: Order, *, actor_role: str = Actor.BUYER) -> Order:
    """Insert a new order (pending payment) and record its first state."""
    session.add(order)
    await session.flush()
    await record_transition(
        session,
        entity="order",
        entity_id=order.id,
        from_state=None,
        to_state=OrderStatus.PENDING_PAYMENT,
        actor_id=order.buyer_id,
        actor_role=actor_role,
        at=order.created_at,
    )
    _record_placed(session, [order])
    return order


async def write_orders(session: AsyncSession, orders: list[Order]) -> list[Order]:
    """Insert many new orders at once and record their first states: two Core statements (cached and
    sent as multi-row inserts), not a unit-of-work flush per object. The orders get their ids."""
    columns = [c.key for c in Order.__table__.columns if c.key != "id"]
    rows = [{name: getattr(o, name) for name in columns} for o in orders]
    # the tables' Core inserts, not the ORM's bulk insert (which works each row over again in Python)
    table = cast(Table, Order.__table__)
    result = await session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    for order, order_id in zip(orders, result.scalars().all(), strict=True):
        order.id = order_id
    await session.execute(
        insert(cast(Table, TransitionRecord.__table__)),
        [
            {
                "entity": "order",
                "entity_id": o.id,
                "from_state": None,
                "to_state": OrderStatus.PENDING_PAYMENT,
                "actor_id": o.buyer_id,
                "actor_role": Actor.BUYER,
                "reason": None,
                "at": o.created_at,
                "data": {},
            }
            for o in orders
        ],
    )
    _record_placed(session, orders)
    return orders


_STAMP = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.COMPLETED: "finished_at",
    OrderStatus.CANCELLED: "finished_at",
    OrderStatus.CLOSED: "finished_at",
}


async def move(
    session: AsyncSession,
    order: Order,
    target: OrderStatus,
    *,
    actor: Actor,
    actor_id: str,
    at: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> OrderStatus:
    """Move the (locked) order; refuses illegal moves (409) and moves this actor may not make (403)."""
    previous = order.status
    check_move(previous, target, actor)
    order.status = target
    order.updated_at = at
    setattr(order, _STAMP[target], at)
    await record_transition(
        session,
        entity="order",
        entity_id=order.id,
        from_state=previous,
        to_state=target,
        actor_id=actor_id,
        actor_role=actor,
        at=at,
        reason=reason,
        data=data,
    )
    record_event(
        session,
        stream=f"order:{order.id}",
        kind=ORDER_MOVED,
        payload={
            "order_id": order.id,
            "sale_id": order.sale_id,
            "room_id": order.room_id,
            "from": previous,
            "to": target,
            "releases_stock": releases_stock(previous, target),
        },
        at=at,
    )
    await record_user_event(  # the buyer's own stream: their open sockets see the order move
        session,
        order.buyer_id,
        kind="order.status",
        payload={"order_id": order.id, "from": previous, "status": target, "reason": reason},
        at=at,
    )
    return previous


def releases_stock(previous: OrderStatus, target: OrderStatus) -> bool:
    return previous in HOLDING and target not in HOLDING


def ship_deadline(shipped_at: datetime, auto_complete_days: int) -> datetime:
    return shipped_at + timedelta(days=auto_complete_days)
