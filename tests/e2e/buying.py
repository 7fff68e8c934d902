"""Shared pieces of the buying and payment tests: the two back-ends, a live sale, a purchase."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from commerce.core.identity import Role
from tests.e2e.world import ShopWorld, ok, qualified_shop, scheduled_room
from tests.support import IN_CI, Client, FakeClock, make_services, reachable, redis_url

ADDRESS = {
    "name": "Wang Fang",
    "phone": "+86 139 0000 0000",
    "line1": "1 Nanjing Road",
    "city": "Shanghai",
    "country": "CN",
}


@pytest.fixture(params=["embedded", "postgresql+redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """The embedded default, or PostgreSQL with the stock ledger and broker on Redis."""
    if request.param == "embedded":
        return request.getfixturevalue("sqlite_template").fresh(tmp_path), {}
    if not reachable(redis_url(), 6379):
        if IN_CI:
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not reachable")
    db_url = request.getfixturevalue("postgresql_template").fresh(tmp_path)
    return db_url, {"redis_url": redis_url(), "redis_prefix": f"ycbuy{os.getpid()}{uuid.uuid4().hex[:6]}"}


@pytest.fixture
async def shop(backend: tuple[str, dict[str, Any]], clock: FakeClock) -> AsyncIterator[Client]:
    db_url, overrides = backend
    services = make_services(db_url, clock, **overrides)
    await services.hub.start()
    services.relay.start()
    services.reactions.start()
    c = Client(services)
    if services.sandbox is not None:  # the in-process sandbox: our clock, and our in-process app

        async def send(url: str, headers: dict[str, str], body: bytes) -> int:
            path = httpx.URL(url).path
            return (await c.http.post(path, content=body, headers=headers)).status_code

        services.sandbox.sender = send
        services.sandbox.now = lambda: clock().timestamp()
    try:
        yield c
    finally:
        await c.aclose()
        await services.reactions.stop()
        await services.relay.stop()
        await services.hub.stop()
        await services.orders.stock.close()
        await services.db.dispose()


async def _sale(c: Client, stock: int, limit: int | None = 1) -> tuple[ShopWorld, int, int, int]:
    """A live room with one listing on sale: returns the world, room id, listing id and a SKU id."""
    w = await qualified_shop(c, products=1)
    room = await scheduled_room(c, w)
    rid, lid = room["id"], room["listing_ids"][0]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    await ok(
        await c.call(
            "PUT",
            f"/rooms/{rid}/listings/{lid}/stock",
            w.operator,
            json={"stock": stock, "limit_per_user": limit},
        )
    )
    await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    )
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    sku = cart["listings"][0]["skus"][0]["id"]
    return w, rid, lid, sku


def _buy(c: Client, rid: int, lid: int, user: str, key: str, sku: int, qty: int = 1) -> Any:
    return c.call(
        "POST",
        f"/rooms/{rid}/listings/{lid}/orders",
        (user, Role.VIEWER),
        json={"sku_id": sku, "quantity": qty, "address": ADDRESS},
        headers={"Idempotency-Key": key},
    )
