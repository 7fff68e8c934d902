"""When the database cannot keep up or drops connections, buyers get an answer, never a 500: their
order (201), a refusal naming the reason (409), or 503 with Retry-After; never an oversell.

- The embedded default (one process, SQLite) with a deliberately small pool under 2,000 buyers at once.
- PostgreSQL + Redis while the app's database backends are terminated again and again mid-sale."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from commerce.core.database import normalize_url
from commerce.orders import actions as order_actions
from tests.e2e.buying import _buy, _sale
from tests.support import IN_CI, Client, DatabaseTemplate, FakeClock, make_services, reachable, redis_url


async def _client(db_url: str, clock: FakeClock, **overrides: Any) -> Client:
    services = make_services(db_url, clock, **overrides)
    await services.hub.start()
    services.relay.start()
    return Client(services)


async def _close(c: Client) -> None:
    await c.aclose()
    await c.services.relay.stop()
    await c.services.hub.stop()
    await c.services.orders.stock.close()
    await c.services.db.dispose()


@pytest.fixture
async def small_pool(
    sqlite_template: DatabaseTemplate, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Client]:
    """The embedded default with a deliberately small pool: two connections (one kept, one overflow)."""
    c = await _client(sqlite_template.fresh(tmp_path), clock, db_pool_size=1)
    try:
        yield c
    finally:
        await _close(c)


@pytest.fixture
def pg_url(postgresql_template: DatabaseTemplate, tmp_path: Path) -> str:
    if not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    return postgresql_template.fresh(tmp_path)


@pytest.fixture
async def on_postgres(pg_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    """PostgreSQL (this test process's own database) with the stock ledger and broker on Redis."""
    prefix = f"ycdbt{os.getpid()}{uuid.uuid4().hex[:6]}"
    c = await _client(pg_url, clock, redis_url=redis_url(), redis_prefix=prefix)
    try:
        yield c
    finally:
        await _close(c)


def _check_answer(r: httpx.Response) -> str:
    """Every answer is a 201/200 order, a 409 naming its reason or a 503 with Retry-After; never a 500."""
    assert r.status_code in (200, 201, 409, 503), (r.status_code, r.text)
    if r.status_code in (200, 201):
        return "order"
    error = r.json()["error"]
    if r.status_code == 503:
        assert int(r.headers["Retry-After"]) >= 1, r.headers
        assert error["code"] in ("database_unavailable", "unavailable") and error["details"]["reason"], error
        return "busy"
    return str(error["code"])


async def _until_answered(
    c: Client, rid: int, lid: int, sku: int, attempts: list[tuple[str, str]], tries: int = 30
) -> tuple[dict[tuple[str, str], str], int]:
    """Every attempt at once; one answered 503 comes back with the same key after Retry-After (spread
    over up to twice that, as clients do), until it gets an order or a refusal."""
    rng = random.Random(11)
    told_busy = 0

    async def attempt(user: str, key: str) -> str:
        for _ in range(tries):
            r = await _buy(c, rid, lid, user, key, sku)
            kind = _check_answer(r)
            if kind != "busy":
                return kind
            nonlocal told_busy
            told_busy += 1
            await asyncio.sleep(int(r.headers["Retry-After"]) * rng.uniform(1, 2))
        raise AssertionError(f"{user}/{key} still answered 503 after {tries} tries")

    kinds = await asyncio.gather(*(attempt(u, k) for u, k in attempts))
    return dict(zip(attempts, kinds, strict=True)), told_busy


async def _no_oversell(c: Client, lid: int, units: int, winners: int) -> None:
    async with c.services.db.read() as s:
        held = await order_actions.held(s, lid)
    assert held.sold == winners <= units
    assert max(held.users.values(), default=0) <= 1
    assert await c.services.orders.reconcile([lid], settle_seconds=0) == []


async def test_two_thousand_buyers_on_a_small_pool_get_answers_not_500(small_pool: Client) -> None:
    c = small_pool
    assert c.services.db.engine.pool.size() == 1  # type: ignore[attr-defined]
    _w, rid, lid, sku = await _sale(c, stock=100, limit=1)
    buyers = [(f"buyer-{i}", f"k-{i}") for i in range(2000)]
    # everyone at once; a buyer told 503 comes back after Retry-After with the same key
    outcome, _told_busy = await _until_answered(c, rid, lid, sku, buyers)
    final = Counter(outcome.values())
    assert final["order"] == 100 and final["sold_out"] == 1900, final
    await _no_oversell(c, lid, 100, final["order"])
    # late buyers, after the sell-out: sold_out, not "not on sale"
    late, _ = await _until_answered(c, rid, lid, sku, [(f"late-{i}", f"l-{i}") for i in range(200)])
    assert set(late.values()) == {"sold_out"}


async def test_a_pool_that_stays_busy_answers_503_with_retry_after(
    sqlite_template: DatabaseTemplate, tmp_path: Path, clock: FakeClock
) -> None:
    """Both connections held elsewhere for longer than a request may wait: 503 naming the reason, with
    Retry-After, not a 500 and not an endless wait; once they are free the same keys buy."""
    c = await _client(sqlite_template.fresh(tmp_path), clock, db_pool_size=1, db_wait_seconds=0.3)
    try:
        _w, rid, lid, sku = await _sale(c, stock=10, limit=1)
        c.services.sale_cache.max_age = 0  # every attempt reads the listing
        db = c.services.db
        async with db.read() as s1, db.read() as s2:
            await s1.execute(text("SELECT 1"))
            await s2.execute(text("SELECT 1"))  # the pool's two connections are taken
            answers = await asyncio.gather(*(_buy(c, rid, lid, f"u{i}", f"k{i}", sku) for i in range(20)))
        for r in answers:
            assert r.status_code == 503 and _check_answer(r) == "busy", r.text
            assert r.json()["error"] == {
                "code": "database_unavailable",
                "message": r.json()["error"]["message"],
                "details": {"reason": "pool_exhausted", "retry_after": 1},
            }
        outcome, told_busy = await _until_answered(c, rid, lid, sku, [(f"u{i}", f"k{i}") for i in range(20)])
        assert told_busy == 0 and Counter(outcome.values()) == {"order": 10, "sold_out": 10}
        await _no_oversell(c, lid, 10, 10)
    finally:
        await _close(c)


async def _terminate_app_backends(db_url: str, times: int, every: float) -> int:
    """Terminate every backend connected to the app's database (not our own) ``times`` times."""
    engine = create_async_engine(normalize_url(db_url))
    name = make_url(normalize_url(db_url)).database
    killed = 0
    try:
        for _ in range(times):
            await asyncio.sleep(every)
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": name},
                )
                killed += sum(1 for (done,) in rows if done)
    finally:
        await engine.dispose()
    return killed


async def test_terminated_database_connections_during_a_sale_give_no_500(on_postgres: Client) -> None:
    c = on_postgres
    _w, rid, lid, sku = await _sale(c, stock=100, limit=1)
    attempts = [(f"buyer-{i % 500}", f"k-{i}") for i in range(1000)]
    killer = asyncio.create_task(_terminate_app_backends(c.services.settings.database_url, 8, 0.05))
    answers = await asyncio.gather(*(_buy(c, rid, lid, u, k, sku) for u, k in attempts))
    killed = await killer
    assert killed > 0
    outcome = {a: _check_answer(r) for a, r in zip(attempts, answers, strict=True)}  # no 500 among them
    assert set(outcome.values()) <= {"order", "sold_out", "limit_reached", "busy"}, Counter(outcome.values())
    # those told 503 come back with their keys, while backends are terminated again
    busy = [a for a, kind in outcome.items() if kind == "busy"]
    killer = asyncio.create_task(_terminate_app_backends(c.services.settings.database_url, 4, 0.02))
    outcome.update((await _until_answered(c, rid, lid, sku, busy))[0])
    await killer
    winners = {u for (u, _k), kind in outcome.items() if kind == "order"}
    assert len(winners) == 100, Counter(outcome.values())
    await _no_oversell(c, lid, 100, len(winners))
