"""``Database.run``: a connection lost before the commit runs the work again on a fresh connection; one
lost during the commit is never run again blindly (``CommitUnknown``), and an order write that meets it
looks for its own order before writing again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.database import Database
from commerce.core.errors import CommitUnknown, DatabaseUnavailable
from commerce.core.idempotency import IdempotencyKey
from tests.e2e.buying import _buy, _sale
from tests.support import Client, FakeClock, make_services

NOW = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=2, wait_seconds=1)
    try:
        yield database
    finally:
        await database.dispose()


def _dropped(message: str) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("COMMIT", None, Exception(message), connection_invalidated=True)


def _row(key: str) -> IdempotencyKey:
    return IdempotencyKey(
        user_id="u", key=key, method="POST", path="/x", request_hash="h", created_at=NOW, completed_at=None
    )


async def _count(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


async def test_lost_before_commit_runs_once_more(db: Database) -> None:
    calls = 0

    async def work(s: AsyncSession) -> str:
        nonlocal calls
        calls += 1
        s.add(_row("a"))
        await s.flush()
        if calls == 1:
            raise _dropped("connection was closed in the middle of operation")
        return "done"

    assert await db.run(work) == "done"
    assert calls == 2 and await _count(db) == 1  # the first attempt wrote nothing


async def test_lost_twice_is_unavailable(db: Database) -> None:
    async def work(s: AsyncSession) -> None:
        raise _dropped("connection was closed in the middle of operation")

    with pytest.raises(DatabaseUnavailable) as caught:
        await db.run(work)
    assert caught.value.reason == "connection_lost" and caught.value.retry_after == 1


async def test_lost_during_commit_is_not_run_again(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    real_commit = AsyncSession.commit
    calls = 0

    async def commit_then_drop(self: AsyncSession) -> None:
        await real_commit(self)  # written, but the answer never arrives
        raise _dropped("connection was closed in the middle of operation")

    async def work(s: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        s.add(_row("b"))

    monkeypatch.setattr(AsyncSession, "commit", commit_then_drop)
    with pytest.raises(CommitUnknown):
        await db.run(work)
    monkeypatch.undo()
    assert calls == 1 and await _count(db) == 1


async def test_a_commit_never_sent_is_run_again(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    real_commit = AsyncSession.commit
    drops = 0

    async def closed_before_sending(self: AsyncSession) -> None:
        nonlocal drops
        if drops == 0:
            drops += 1
            await self.rollback()  # what the server does with a transaction whose connection died
            raise _dropped("connection is closed")
        await real_commit(self)

    async def work(s: AsyncSession) -> None:
        s.add(_row("c"))

    monkeypatch.setattr(AsyncSession, "commit", closed_before_sending)
    await db.run(work)
    monkeypatch.undo()
    assert drops == 1 and await _count(db) == 1


async def test_an_order_whose_commit_was_lost_is_found_not_given_back(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = make_services(db_url, FakeClock())
    await services.hub.start()
    services.relay.start()
    c = Client(services)
    try:
        _w, rid, lid, sku = await _sale(c, stock=2, limit=None)
        real_run = Database.run
        lost: list[int] = []

        async def run_losing_first_order_commit(self: Database, work: Any) -> Any:
            result = await real_run(self, work)
            if isinstance(work, partial) and not lost:  # the batch write of the orders
                lost.append(1)
                raise CommitUnknown()
            return result

        monkeypatch.setattr(Database, "run", run_losing_first_order_commit)
        r = await _buy(c, rid, lid, "u1", "k1", sku)
        monkeypatch.undo()
        assert lost and r.status_code == 201, r.text
        stock = (await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock")).json()
        assert stock["sold"] == 1  # its unit stayed taken: not given back, not taken twice
        assert await services.orders.reconcile([lid], settle_seconds=0) == []
    finally:
        await c.aclose()
        await services.relay.stop()
        await services.hub.stop()
        await services.db.dispose()
