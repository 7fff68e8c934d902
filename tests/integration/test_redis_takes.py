"""The Redis stock ledger sends takes that arrive together as one pipeline: each still one atomic script
call, answered to its own caller; a caller that went away gets its units given back; a Redis that lost
its scripts gets them loaded again."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from commerce.orders.stock import LIMIT, SOLD_OUT, SaleConfig
from commerce.orders.stock.redis import PIPELINE, RedisStock
from tests.support import IN_CI, reachable, redis_url

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def stock() -> AsyncIterator[RedisStock]:
    if not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    ledger = RedisStock(redis_url(), prefix=f"yctakes{os.getpid()}{uuid.uuid4().hex[:6]}")
    try:
        yield ledger
    finally:
        await ledger.close()


async def test_takes_made_together_each_get_their_own_answer(stock: RedisStock) -> None:
    await stock.configure(SaleConfig(sale_id=1, total=300, limit_per_user=1, starts_at=None, open=True))
    buyers = [f"b{i}" for i in range(PIPELINE * 2 + 50)]  # more than two pipelines' worth
    twice = [b for b in buyers[:10] for _ in range(2)]  # the first ten try twice, straight away
    takes = await asyncio.gather(*(stock.take(1, b, 1, NOW) for b in twice + buyers[10:]))
    won = [t for t in takes if t.ok]
    assert len(won) == 300
    assert sorted(t.left for t in won) == list(range(300))  # every unit once, in some order
    refused = [t.reason for t in takes if not t.ok]
    assert refused.count(LIMIT) == 10  # the second try of each of the first ten buyers
    assert refused.count(SOLD_OUT) == len(buyers) - 300
    counters = await stock.counters(1)
    assert counters is not None and counters.sold == 300


async def test_a_caller_that_went_away_gets_its_units_given_back(stock: RedisStock) -> None:
    await stock.configure(SaleConfig(sale_id=2, total=5, limit_per_user=None, starts_at=None, open=True))
    gone = asyncio.ensure_future(stock.take(2, "gone", 2, NOW))
    kept = asyncio.ensure_future(stock.take(2, "kept", 1, NOW))
    await asyncio.sleep(0)  # both are waiting for the pipeline
    gone.cancel()
    assert (await kept).ok
    sold, users = -1, {}
    for _ in range(100):  # the give-back follows the pipeline's answers
        counters = await stock.counters(2)
        assert counters is not None
        sold, users = counters.sold, counters.users
        if sold == 1:
            break
        await asyncio.sleep(0.01)
    assert sold == 1 and users == {"kept": 1}


async def test_a_redis_that_lost_its_scripts_is_given_them_again(stock: RedisStock) -> None:
    await stock.configure(SaleConfig(sale_id=3, total=5, limit_per_user=None, starts_at=None, open=True))
    assert (await stock.take(3, "a", 1, NOW)).ok
    admin = Redis.from_url(redis_url())
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()
    takes = await asyncio.gather(*(stock.take(3, f"u{i}", 1, NOW) for i in range(3)))
    assert all(t.ok for t in takes)
    counters = await stock.counters(3)
    assert counters is not None and counters.sold == 4
