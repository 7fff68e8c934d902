"""Background work for orders: timers (unpaid orders close, shipped orders complete) and the
reconciliation of stock counters with the orders (at start-up and periodically)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from commerce.orders.service import Drift, Moved
from live.cart.models import Listing
from live.container import Services
from live.ordering import actions

log = logging.getLogger("yellowcart.orders")


async def stock_returned(services: Services, moved: Moved) -> None:
    """Stock came back (a cancellation, an unpaid close): a listing that sold out by itself reopens."""
    order = moved.order
    if moved.left is None or moved.left <= 0 or order.room_id is None:
        return
    async with services.db.transaction() as s:
        flipped = await actions.back_on_sale(s, order.room_id, order.sale_id, services.clock)
    if flipped:
        await services.orders.mirror(order.sale_id)


class OrderJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._tasks: list[asyncio.Task[None]] = []

    async def sweep_once(self) -> list[Moved]:
        """Close unpaid orders and complete shipped ones whose time is up; reopen what they free."""
        moved = await self.services.orders.sweep()
        for m in moved:
            await stock_returned(self.services, m)
        for refund_id in await self.services.payments.pending_refunds():
            await self.services.payments.request_refund(refund_id)  # a refund the provider has not taken yet
        if moved:
            log.info("order timers ran", extra={"moved": len(moved)})
        return moved

    async def reconcile_once(self, settle_seconds: float = 1.0) -> list[Drift]:
        repaired = await self.services.orders.reconcile(settle_seconds=settle_seconds)
        self.services.metrics.stock_repairs.inc(len(repaired))
        log.info("stock reconciled", extra={"repaired": len(repaired)})
        return repaired

    def start(self) -> None:
        s = self.services.settings
        self._tasks = [
            asyncio.create_task(self._every(s.order_sweep_seconds, self.sweep_once), name="order-sweep"),
            asyncio.create_task(
                self._every(s.stock_reconcile_seconds, self.reconcile_once), name="reconcile"
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _every(self, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:  # the first run is at start-up
            try:
                await job()
            except Exception:
                log.exception("order job failed; will retry")
            await asyncio.sleep(seconds)


async def room_sales_closed(services: Services, room_id: int) -> None:
    """After a room ended: its sales were closed in the same transaction; tell the stock ledger."""
    async with services.db.read() as s:
        ids = list(await s.scalars(select(Listing.id).where(Listing.room_id == room_id)))
    for sale_id in ids:
        await services.orders.mirror(sale_id)
    services.sale_views.forget(room_id)
