"""The stock ledgers' contract, as a hypothesis state machine: the database ledger (embedded default)
and the Redis ledger must both agree with a model of the sale after every take, give-back and change
of configuration, whatever the order of the steps."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from commerce.core.database import Database
from commerce.orders import actions
from commerce.orders.stock import INSUFFICIENT, LIMIT, NOT_OPEN, SOLD_OUT, StockLedger, create_stock
from tests.support import IN_CI, DatabaseTemplate, reachable, redis_url, seed_shop

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
USERS = ["u1", "u2", "u3"]
_sale_ids = itertools.count(1)


class LedgerWalk(RuleBasedStateMachine):
    template: DatabaseTemplate
    tmp: Path
    kind: str

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(self.template.fresh(self.tmp))
        url = redis_url() if self.kind == "redis" else None
        self.stock: StockLedger = create_stock(
            url, self.db, prefix=f"ycstock{os.getpid()}{uuid.uuid4().hex[:6]}"
        )
        self.sale = next(_sale_ids)
        self.total, self.open = 5, True
        self.limit: int | None = 2
        self.sold = 0
        self.units = dict.fromkeys(USERS, 0)
        self.run(self._setup())

    async def _setup(self) -> None:
        shop_id = await seed_shop(self.db)  # a shop row for the allotment's foreign key
        self.shop_id = shop_id
        async with self.db.transaction() as s:
            a = await actions.set_allotment(
                s,
                sale_id=self.sale,
                shop_id=shop_id,
                total=self.total,
                limit_per_user=self.limit,
                starts_at=None,
                now=NOW,
            )
            a.open = True
            config = actions.config_of(a)
        await self.stock.configure(config)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.stock.close())
        self.run(self.db.dispose())
        self.loop.close()

    async def _configure(self) -> None:
        async with self.db.transaction() as s:
            a = await actions.set_allotment(
                s,
                sale_id=self.sale,
                shop_id=self.shop_id,
                total=self.total,
                limit_per_user=self.limit,
                starts_at=None,
                now=NOW,
            )
            a.open = self.open
            config = actions.config_of(a)
        await self.stock.configure(config)

    @rule(user=st.sampled_from(USERS), qty=st.integers(1, 3))
    def take(self, user: str, qty: int) -> None:
        got = self.run(self.stock.take(self.sale, user, qty, NOW))
        left = self.total - self.sold
        if not self.open:  # a closed sale with nothing left was closed by its sell-out
            expected = SOLD_OUT if left <= 0 else NOT_OPEN
        elif left <= 0:
            expected = SOLD_OUT
        elif qty > left:
            expected = INSUFFICIENT
        elif self.limit is not None and self.units[user] + qty > self.limit:
            expected = LIMIT
        else:
            expected = None
        assert got.reason == expected, (got, expected, self.sold, self.units)
        if expected is None:
            assert got.ok and got.left == left - qty
            self.sold += qty
            self.units[user] += qty

    @precondition(lambda self: any(self.units.values()))
    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from([u for u, n in self.units.items() if n]))
        qty = data.draw(st.integers(1, self.units[user]))
        left = self.run(self.stock.give_back(self.sale, user, qty))
        self.sold -= qty
        self.units[user] -= qty
        assert left == self.total - self.sold

    @rule(open_=st.booleans())
    def flip(self, open_: bool) -> None:
        self.open = open_
        self.run(self._configure())

    @rule(extra=st.integers(0, 4), limit=st.sampled_from([None, 1, 2, 3]))
    def reconfigure(self, extra: int, limit: int | None) -> None:
        self.total, self.limit = self.sold + extra, limit
        self.run(self._configure())

    @invariant()
    def counters_match_the_model(self) -> None:
        counters = self.run(self.stock.counters(self.sale))
        assert counters is not None
        assert counters.sold == self.sold
        assert counters.users == {u: n for u, n in self.units.items() if n}
        unknown = 10**12  # a sale the ledger has never heard of is left out
        assert self.run(self.stock.sold([self.sale, unknown])) == {self.sale: self.sold}
        assert self.run(self._units_left()) == {self.sale: self.total - self.sold, unknown: 0}

    async def _units_left(self) -> dict[int, int]:
        async with self.db.read() as s:
            return await actions.units_left(s, self.stock, [self.sale, 10**12])


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_stock_ledgers_agree_with_the_model(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "redis" and not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    LedgerWalk.template = request.getfixturevalue("sqlite_template")
    LedgerWalk.tmp = tmp_path
    LedgerWalk.kind = kind
    run_state_machine_as_test(
        LedgerWalk,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
