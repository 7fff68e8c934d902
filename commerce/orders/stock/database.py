"""The stock ledger in the database (the embedded default): the counters are the ``sale_allotments``
rows themselves; a take is one conditional update and an upsert of the buyer's units in one short
transaction, and takes that arrive together share it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.database import Database
from commerce.orders.models import Allotment, AllotmentBuyer, Order
from commerce.orders.stock.base import (
    INSUFFICIENT,
    LIMIT,
    NOT_OPEN,
    NOT_STARTED,
    SOLD_OUT,
    UNKNOWN,
    Counters,
    SaleConfig,
    Take,
)


def _upsert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


_Pending = tuple[
    tuple[int, str, int, datetime, str | None], "asyncio.Future[Take]"
]  # sale, buyer, qty, now, key


async def _order_with_key(s: AsyncSession, buyer_id: str, key: str) -> int | None:
    return await s.scalar(select(Order.id).where(Order.buyer_id == buyer_id, Order.idempotency_key == key))


class _Refused(Exception):
    def __init__(self, take: Take) -> None:
        self.take = take


class DatabaseStock:
    """Counters in the ``sale_allotments`` rows; a take is one short write transaction. The orders
    table is its key mark: a take with a key that already made an order answers with that order, read
    in the take's own (batched) transaction, so a first attempt costs no database read of its own."""

    keeps_marks = True
    BATCH = 100

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def take(self, sale_id: int, user_id: str, qty: int, now: datetime, key: str | None = None) -> Take:
        """Takes that arrive together share one write transaction (group commit: one commit, one
        fsync); each runs in its own savepoint, so a refused take undoes only itself. A caller hears
        its answer once the batch has committed."""
        future: asyncio.Future[Take] = asyncio.get_running_loop().create_future()
        self._pending.append(((sale_id, user_id, qty, now, key), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending[: self.BATCH], self._pending[self.BATCH :]

            async def take_all(s: AsyncSession, batch: list[_Pending] = batch) -> list[Take]:
                answers: list[Take] = []
                for (sale_id, user_id, qty, now, key), _ in batch:
                    order_id = None if key is None else await _order_with_key(s, user_id, key)
                    if order_id is not None:  # a retry: the order this key made
                        answers.append(Take(False, 0, order_id=order_id))
                        continue
                    try:
                        async with s.begin_nested():
                            answers.append(await self._take(s, sale_id, user_id, qty, now))
                    except _Refused as refused:  # the savepoint rolled back this take only
                        answers.append(refused.take)
                return answers

            try:
                # all of a batch's work is in its transaction: a connection lost before the commit is
                # retried on a fresh one
                answers = await self._db.run(take_all)
            except BaseException as exc:
                # not committed (nothing taken), or the commit's outcome is unknown: then units may
                # be taken with no order behind them, the safe direction (never an oversell), and
                # reconciliation gives them back
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)

    async def _take(self, s: AsyncSession, sale_id: int, user_id: str, qty: int, now: datetime) -> Take:
        row = (
            await s.execute(
                update(Allotment)
                .where(
                    Allotment.sale_id == sale_id,
                    Allotment.open.is_(True),
                    Allotment.sold + qty <= Allotment.total,
                    or_(Allotment.starts_at.is_(None), Allotment.starts_at <= now),
                )
                .values(sold=Allotment.sold + qty)
                .returning(Allotment.total - Allotment.sold, Allotment.limit_per_user)
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            raise _Refused(await self._why(s, sale_id, user_id, qty, now))
        left, limit = int(row[0]), row[1]
        insert = _upsert(s)
        stmt = insert(AllotmentBuyer).values(sale_id=sale_id, user_id=user_id, units=qty)
        stmt = stmt.on_conflict_do_update(
            index_elements=[AllotmentBuyer.sale_id, AllotmentBuyer.user_id],
            set_={"units": AllotmentBuyer.units + qty},
        ).returning(AllotmentBuyer.units)
        units = int((await s.execute(stmt)).scalar_one())
        if limit is not None and units > limit:
            raise _Refused(Take(False, left + qty, LIMIT, user_units=units - qty))
        return Take(True, left, user_units=units)

    async def _why(self, s: AsyncSession, sale_id: int, user_id: str, qty: int, now: datetime) -> Take:
        # fresh from the database: earlier takes of the same batch changed the row behind the session
        a = await s.get(Allotment, sale_id, populate_existing=True)
        if a is None:
            return Take(False, 0, UNKNOWN)
        left = a.total - a.sold
        units = await s.scalar(
            select(AllotmentBuyer.units).where(
                AllotmentBuyer.sale_id == sale_id, AllotmentBuyer.user_id == user_id
            )
        )
        if not a.open:  # a sale closed because its last unit went is sold out, not "not on sale"
            return Take(False, max(left, 0), SOLD_OUT if left <= 0 else NOT_OPEN, user_units=units or 0)
        if a.starts_at is not None and a.starts_at > now:
            wait = (a.starts_at - now).total_seconds()
            return Take(False, left, NOT_STARTED, seconds_to_start=wait, user_units=units or 0)
        return Take(False, left, SOLD_OUT if left <= 0 else INSUFFICIENT, user_units=units or 0)

    async def give_back(self, sale_id: int, user_id: str, qty: int) -> int:
        """Its work is in its transaction, so a connection lost before the commit is retried once; a
        lost commit is not (the units might come back twice): reconciliation settles it."""
        return await self._db.run(lambda s: self._give_back(s, sale_id, user_id, qty))

    async def _give_back(self, s: AsyncSession, sale_id: int, user_id: str, qty: int) -> int:
        left = (
            await s.execute(
                update(Allotment)
                .where(Allotment.sale_id == sale_id)
                .values(sold=Allotment.sold - qty)
                .returning(Allotment.total - Allotment.sold)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        await s.execute(
            update(AllotmentBuyer)
            .where(AllotmentBuyer.sale_id == sale_id, AllotmentBuyer.user_id == user_id)
            .values(units=AllotmentBuyer.units - qty)
            .execution_options(synchronize_session=False)
        )
        return int(left)

    async def configure(self, config: SaleConfig, counters: Counters | None = None) -> None:
        if counters is None:
            return  # the configuration is the database row itself
        async with self._db.transaction() as s:
            await s.execute(
                update(Allotment)
                .where(Allotment.sale_id == config.sale_id)
                .values(sold=counters.sold)
                .execution_options(synchronize_session=False)
            )
            rows = list(
                await s.scalars(select(AllotmentBuyer).where(AllotmentBuyer.sale_id == config.sale_id))
            )
            for b in rows:
                b.units = counters.users.get(b.user_id, 0)
            known = {b.user_id for b in rows}
            for user, units in counters.users.items():
                if user not in known:
                    s.add(AllotmentBuyer(sale_id=config.sale_id, user_id=user, units=units))

    async def counters(self, sale_id: int) -> Counters | None:
        async with self._db.read() as s:
            a = await s.get(Allotment, sale_id)
            if a is None:
                return None
            rows = await s.execute(
                select(AllotmentBuyer.user_id, AllotmentBuyer.units).where(
                    AllotmentBuyer.sale_id == sale_id, AllotmentBuyer.units != 0
                )
            )
            return Counters(a.sold, {u: int(n) for u, n in rows})

    async def sold(self, sale_ids: Sequence[int], session: AsyncSession | None = None) -> dict[int, int]:
        if not sale_ids:
            return {}
        stmt = select(Allotment.sale_id, Allotment.sold).where(Allotment.sale_id.in_(sale_ids))
        if session is not None:
            return {int(i): int(n) for i, n in await session.execute(stmt)}
        async with self._db.read() as s:
            return {int(i): int(n) for i, n in await s.execute(stmt)}

    async def remember_many(self, marks: list[tuple[str, str, int]]) -> None:
        return None

    async def close(self) -> None:
        return None
