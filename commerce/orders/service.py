"""Buying: take stock from the ledger, write the order durably, give the stock back if the write fails;
move orders and return their stock; close unpaid orders; reconcile the ledger with the orders."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from commerce.core import failpoints
from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.errors import CommitUnknown, DatabaseUnavailable, IdempotencyMismatch, PurchaseRefused
from commerce.orders import actions
from commerce.orders.models import Allotment, Order, OrderDraft, OrderStatus
from commerce.orders.stock import INSUFFICIENT, LIMIT, NOT_OPEN, NOT_STARTED, SOLD_OUT, UNKNOWN, StockLedger
from commerce.orders.transitions import Actor

log = logging.getLogger("yellowcart.orders")
BATCH = 200  # orders written per transaction at most

_MESSAGES = {
    NOT_OPEN: "this product is not on sale",
    NOT_STARTED: "the sale has not started yet",
    SOLD_OUT: "sold out",
    INSUFFICIENT: "not enough left for this quantity",
    LIMIT: "you have reached the purchase limit for this product",
    UNKNOWN: "this product is not on sale",
}


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: the answer to a retry with the same Idempotency-Key
    left: int | None  # units left after this purchase (None for a retry)


@dataclass(frozen=True)
class Moved:
    order: Order
    previous: OrderStatus
    left: int | None  # units of the sale left after stock came back, if it did


@dataclass(frozen=True)
class Drift:
    sale_id: int
    ledger_sold: int | None
    orders_sold: int
    users: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (ledger, orders)


class OrderService:
    def __init__(
        self,
        db: Database,
        stock: StockLedger,
        clock: Clock,
        *,
        pay_minutes: float = 15,
        auto_complete_days: int = 10,
    ) -> None:
        self.db = db
        self.stock = stock
        self.clock = clock
        self.pay_timeout = timedelta(minutes=pay_minutes)
        # orders waiting to be written, with the units their take left in the sale
        self._batch: list[tuple[Order, int, asyncio.Future[Order]]] = []
        self._inflight: dict[tuple[str, str], asyncio.Future[Placed]] = {}
        # units taken from the ledger whose orders are not written yet, per sale: reconciliation leaves
        # those sales alone (their counters are ahead of the orders for good reason)
        self._unwritten: Counter[int] = Counter()
        self._flusher: asyncio.Task[None] | None = None
        self.auto_complete_days = auto_complete_days

    async def replay(self, buyer_id: str, key: str, request_hash: str) -> Order | None:
        """The order an earlier request with this key placed (refusing a different request), if any.
        A ledger that keeps key marks (Redis) answers retries inside ``take``; callers skip this then."""
        async with self.db.read() as s:
            existing = await actions.by_key(s, buyer_id, key)
        if existing is not None and existing.request_hash != request_hash:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used for a different order",
                details={"key": key, "order_id": existing.id},
            )
        return existing

    async def mirror(self, sale_id: int, *, strict: bool = False) -> None:
        """Give the ledger the sale's configuration as the database has it now (after a commit). If the
        ledger cannot be reached the change stands: ``strict`` raises (the caller retries), otherwise
        the reconciliation job mirrors it later."""
        async with self.db.read() as s:
            a = await s.get(Allotment, sale_id)
            config = actions.config_of(a) if a is not None else None
        if config is None:
            return
        try:
            await self.stock.configure(config)
        except Exception:
            if strict:
                raise
            log.warning("stock ledger unreachable; the sale is mirrored later", extra={"sale_id": sale_id})

    async def purchase(self, draft: OrderDraft) -> Placed:
        """Place ``draft`` (the order the buyer asks for, with their key and request hash). Call
        ``replay`` first. Twins (the same key) in flight on this process share the first one's answer;
        twins racing on two processes are settled by the orders' unique key."""
        key = (draft.buyer_id, draft.idempotency_key)
        running = self._inflight.get(key)
        if running is not None:
            first = await asyncio.shield(running)
            return self._replay(first.order, draft)
        future: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            placed = await self._purchase(draft)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the twins get it; nothing else to report
            raise
        finally:
            del self._inflight[key]
        future.set_result(placed)
        return placed

    async def _purchase(self, draft: OrderDraft) -> Placed:
        now = self.clock()
        take = await self.stock.take(
            draft.sale_id, draft.buyer_id, draft.quantity, now, draft.idempotency_key
        )
        if take.order_id is not None:  # a retry: the ledger remembers the order this key made
            async with self.db.read() as s:
                existing = await actions.get_order(s, take.order_id)
            return self._replay(existing, draft)
        if take.reason == UNKNOWN:  # the ledger lost the sale (Redis flushed): restore it from the orders
            await self.resync(draft.sale_id)
            take = await self.stock.take(
                draft.sale_id, draft.buyer_id, draft.quantity, now, draft.idempotency_key
            )
            if take.order_id is not None:
                async with self.db.read() as s:
                    existing = await actions.get_order(s, take.order_id)
                return self._replay(existing, draft)
            if take.reason == UNKNOWN:
                raise PurchaseRefused(
                    NOT_OPEN, "no stock has been allotted to this product", details={"left": 0}
                )
        if not take.ok and take.reason == LIMIT and not self.stock.keeps_marks:
            # a ledger without key marks: the buyer's limit may be their own earlier order (a retry)
            async with self.db.read() as s:
                mine = await actions.by_key(s, draft.buyer_id, draft.idempotency_key)
            if mine is not None:
                return self._replay(mine, draft)
        if not take.ok:
            assert take.reason is not None
            details: dict[str, Any] = {"left": take.left}
            if take.seconds_to_start is not None:
                details["seconds_to_start"] = round(take.seconds_to_start, 3)
            if take.reason == LIMIT:
                details["you_hold"] = take.user_units
            raise PurchaseRefused(take.reason, _MESSAGES[take.reason], details=details)
        try:
            # shielded: a caller that goes away (client disconnect) does not stop the write; a write
            # that fails gives its stock back itself
            sale_id, units = draft.sale_id, draft.quantity
            self._unwritten[sale_id] += units
            writing = self._write(draft.placed(now, now + self.pay_timeout), take.left)
            writing.add_done_callback(lambda _: self._written(sale_id, units))
            order = await asyncio.shield(writing)
        except IntegrityError:
            async with self.db.read() as s:
                twin = await actions.by_key(s, draft.buyer_id, draft.idempotency_key)
            if twin is None:
                raise
            return self._replay(twin, draft)
        return Placed(order, True, take.left)

    def _write(self, draft: Order, left: int) -> asyncio.Future[Order]:
        """Write the order durably. Winners of a flash sale arrive together: they are written in
        batches, one transaction each (group commit) with one ``orders.placed`` event per sale; the
        future resolves when its batch committed. If the order cannot be written its stock is given
        back before the future fails."""
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._batch.append((draft, left, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_batches())
        return future

    async def _flush_batches(self) -> None:
        await asyncio.sleep(0)  # winners answered in the same loop turn join this batch
        while self._batch:
            batch, self._batch = self._batch[:BATCH], self._batch[BATCH:]
            drafts = [draft for draft, _, _ in batch]
            try:
                # the batch's work is all in its transaction: a connection lost before the commit is
                # retried once on a fresh one
                await self.db.run(partial(actions.write_orders, orders=drafts))
            except DatabaseUnavailable as exc:
                if isinstance(exc, CommitUnknown):
                    await self._write_each(batch)  # find out which orders the lost commit wrote
                else:  # nothing was written (no connection in time, lost twice): the units go back
                    for draft, _, future in batch:
                        await self._give_back(draft.sale_id, draft.buyer_id, draft.quantity)
                        if not future.done():
                            future.set_exception(exc)
                continue
            except BaseException:
                # one bad order (a twin's duplicate key) must not fail the others: one by one
                await self._write_each(batch)
                continue
            if any(left == 0 for _, left, _ in batch):  # a test may crash here, before any reaction ran
                failpoints.reached(failpoints.LAST_UNIT_COMMITTED)
            await self._remember(drafts)
            for draft, _, future in batch:
                if not future.done():
                    future.set_result(draft)

    async def _write_each(self, batch: list[tuple[Order, int, asyncio.Future[Order]]]) -> None:
        for draft, left, future in batch:
            try:
                order = await self._write_one(draft)
            except BaseException as exc:
                if not isinstance(exc, CommitUnknown):  # surely not written: its units go back
                    await self._give_back(draft.sale_id, draft.buyer_id, draft.quantity)
                # else whether it was written is unknown: the units stay taken (never an oversell)
                # and reconciliation gives them back if no order holds them
                if not future.done():
                    future.set_exception(exc)
            else:
                if left == 0:
                    failpoints.reached(failpoints.LAST_UNIT_COMMITTED)
                await self._remember([order])
                if not future.done():
                    future.set_result(order)

    async def _write_one(self, draft: Order) -> Order:
        """Write one order. After a commit whose outcome is unknown (or a duplicate key) look first:
        the order this very draft wrote is the answer; if it is not there, write again, once."""
        for _ in range(2):
            try:
                await self.db.run(lambda s: actions.write_orders(s, [draft]))
                return draft
            except (CommitUnknown, IntegrityError) as exc:
                try:
                    async with self.db.read() as s:
                        found = await actions.by_key(s, draft.buyer_id, draft.idempotency_key)
                except Exception as lookup:
                    raise CommitUnknown(retry_after=self.db.retry_after) from lookup
                if found is not None and found.created_at == draft.created_at:
                    return found  # a lost commit that was written after all: this draft's own order
                if isinstance(exc, IntegrityError):
                    raise  # a twin's order holds the key
        raise DatabaseUnavailable(
            "connection_lost",
            "the order could not be written; try again shortly",
            retry_after=self.db.retry_after,
        )

    async def _remember(self, orders: list[Order]) -> None:
        try:
            await self.stock.remember_many([(o.buyer_id, o.idempotency_key, o.id) for o in orders])
        except Exception:  # the unique key in the orders table still answers retries
            log.warning("could not remember order keys", extra={"orders": len(orders)})

    def _written(self, sale_id: int, units: int) -> None:
        self._unwritten[sale_id] -= units
        if self._unwritten[sale_id] <= 0:
            del self._unwritten[sale_id]

    def _replay(self, existing: Order, draft: OrderDraft) -> Placed:
        if existing.request_hash != draft.request_hash:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used for a different order",
                details={"key": draft.idempotency_key, "order_id": existing.id},
            )
        return Placed(existing, False, None)

    async def _give_back(self, sale_id: int, user_id: str, qty: int) -> int | None:
        try:
            return await self.stock.give_back(sale_id, user_id, qty)
        except Exception:  # the orders stay the truth; reconciliation repairs the counter
            log.exception("could not return stock; reconciliation will", extra={"sale_id": sale_id})
            return None

    async def move(
        self,
        order_id: int,
        target: OrderStatus,
        *,
        actor: Actor,
        actor_id: str,
        reason: str | None = None,
        check: Callable[[Order], None] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> Moved:
        """Move an order (after ``check`` approves the caller); its ``order.moved`` event is recorded in
        the same transaction. Stock comes back to the ledger after the commit (the reconciliation job
        repairs the ledger if this process stops in between)."""
        async with self.db.transaction() as s:
            order = await actions.get_order(s, order_id, for_update=True)
            if check is not None:
                check(order)
            now = self.clock()
            for name, value in (changes or {}).items():
                setattr(order, name, value)
            if target == OrderStatus.SHIPPED:
                order.complete_by = actions.ship_deadline(now, self.auto_complete_days)
            previous = await actions.move(
                s, order, target, actor=actor, actor_id=actor_id, at=now, reason=reason, data=changes
            )
        left = None
        if actions.releases_stock(previous, target):
            left = await self._give_back(order.sale_id, order.buyer_id, order.quantity)
        return Moved(order, previous, left)

    async def due(self, status: OrderStatus, limit: int = 500) -> list[int]:
        """Orders whose timer ran out: unpaid past ``pay_by``, or shipped/delivered past ``complete_by``."""
        now = self.clock()
        async with self.db.read() as s:
            if status == OrderStatus.PENDING_PAYMENT:
                stmt = select(Order.id).where(Order.status == status, Order.pay_by <= now)
            else:
                stmt = select(Order.id).where(Order.status == status, Order.complete_by <= now)
            return list(await s.scalars(stmt.order_by(Order.id).limit(limit)))

    async def sweep(self) -> list[Moved]:
        """Close unpaid orders past their deadline and complete delivered ones past theirs."""
        moved: list[Moved] = []
        plan = [
            (OrderStatus.PENDING_PAYMENT, OrderStatus.CLOSED, "unpaid in time"),
            (OrderStatus.SHIPPED, OrderStatus.COMPLETED, "receipt period over"),
            (OrderStatus.DELIVERED, OrderStatus.COMPLETED, "receipt period over"),
        ]
        for status, target, reason in plan:
            for order_id in await self.due(status):
                try:
                    moved.append(
                        await self.move(
                            order_id, target, actor=Actor.SYSTEM, actor_id="system", reason=reason
                        )
                    )
                except Exception:  # moved meanwhile (paid, cancelled) or a transient failure: next sweep
                    log.info("sweep skipped an order", extra={"order_id": order_id}, exc_info=True)
        return moved

    async def resync(self, sale_id: int) -> None:
        """Give the ledger the sale's configuration and the units its orders hold."""
        async with self.db.read() as s:
            a = await s.get(Allotment, sale_id)
            if a is None:
                return
            truth = await actions.held(s, sale_id)
            config = actions.config_of(a)
            keys = list(
                await s.execute(
                    select(Order.buyer_id, Order.idempotency_key, Order.id).where(Order.sale_id == sale_id)
                )
            )
        await self.stock.configure(config, truth)
        # retries of these orders are answered without the database
        await self.stock.remember_many([(b, k, i) for b, k, i in keys])

    async def drift(self, sale_id: int) -> Drift | None:
        async with self.db.read() as s:
            truth = await actions.held(s, sale_id)
        counters = await self.stock.counters(sale_id)
        users = {
            u: ((counters.users.get(u, 0) if counters else 0), truth.users.get(u, 0))
            for u in set(truth.users) | set(counters.users if counters else {})
        }
        users = {u: pair for u, pair in users.items() if pair[0] != pair[1]}
        if counters is not None and counters.sold == truth.sold and not users:
            return None
        return Drift(sale_id, counters.sold if counters else None, truth.sold, users)

    async def reconcile(
        self, sale_ids: list[int] | None = None, *, settle_seconds: float = 1.0
    ) -> list[Drift]:
        """Repair counters that disagree with the orders. A difference must persist unchanged for
        ``settle_seconds`` (a purchase in flight has taken stock but not written its order yet), and
        a sale with orders still being written here is left alone."""
        if sale_ids is None:
            since = self.clock() - timedelta(hours=1)
            async with self.db.read() as s:
                sale_ids = list(
                    await s.scalars(
                        select(Allotment.sale_id).where(
                            or_(Allotment.open.is_(True), Allotment.updated_at >= since)
                        )
                    )
                )
            for sale_id in sale_ids:  # a flip made while the ledger was unreachable reaches it now
                await self.mirror(sale_id)
        first = {d.sale_id: d for d in [await self.drift(i) for i in sale_ids] if d is not None}
        if not first:
            return []
        if settle_seconds:
            await asyncio.sleep(settle_seconds)
        repaired: list[Drift] = []
        for sale_id, seen in first.items():
            if sale_id in self._unwritten:
                continue
            again = await self.drift(sale_id)
            if again is not None and again == seen and sale_id not in self._unwritten:
                await self.resync(sale_id)
                log.warning(
                    "stock counters repaired",
                    extra={
                        "sale_id": sale_id,
                        "ledger_sold": seen.ledger_sold,
                        "orders_sold": seen.orders_sold,
                    },
                )
                repaired.append(seen)
        return repaired
