"""Background work for orders: timers (unpaid orders close, shipped orders complete) and the
reconciliation of stock counters with the orders (at start-up and periodically)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from commerce.orders.service import Drift, Moved
from live.container import Services
from live.ordering.reactions import STOCK_REACTIONS

log = logging.getLogger("yellowcart.orders")


class OrderJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._tasks: list[asyncio.Task[None]] = []

    async def sweep_once(self) -> list[Moved]:
        """Close unpaid orders and complete shipped ones whose time is up. What they free reopens by
        the stock reactions to their ``order.moved`` events (waited for here, bounded)."""
        moved = await self.services.orders.sweep()
        if any(m.left is not None for m in moved):
            await self.services.reactions.settle(STOCK_REACTIONS)
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
