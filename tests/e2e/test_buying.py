"""Buying in the room through the HTTP API, on the embedded default (SQLite, stock counters in the
database) and on PostgreSQL + Redis (stock counters in one Redis Lua script)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from commerce.core.identity import Role
from commerce.orders import actions as order_actions
from commerce.orders.models import Order, OrderStatus
from commerce.orders.transitions import Actor
from live.ordering.jobs import OrderJobs
from tests.e2e.buying import ADDRESS, _buy, _sale
from tests.e2e.channel import Viewer, serve
from tests.e2e.world import STAFF, ok, qualified_shop
from tests.support import Client, FakeClock


async def test_a_thousand_attempts_on_a_hundred_units(shop: Client) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=100, limit=1)
    async with (
        serve(c.services) as base,
        Viewer.connect(f"{base}/ws/rooms/{rid}") as v1,
        Viewer.connect(f"{base}/ws/rooms/{rid}") as v2,
    ):
        attempts = [(f"buyer-{i % 500}", f"k-{i}") for i in range(1000)]
        answers = await asyncio.gather(*(_buy(c, rid, lid, u, k, sku) for u, k in attempts))
        codes = Counter(a.status_code for a in answers)
        assert codes[201] == 100 and codes[201] + codes[409] == 1000, codes
        reasons = Counter(a.json()["error"]["code"] for a in answers if a.status_code == 409)
        assert set(reasons) <= {"sold_out", "limit_reached"}, reasons  # never "not_on_sale" once sold out
        await c.services.relay.drain()
        for v in (v1, v2):
            await v.until(lambda v: any(e.get("status") == "sold_out" for e in v.state))
            await asyncio.sleep(0)  # nothing further pending: the flip arrives once
            flips = [e for e in v.state if e.get("listing_id") == lid and e.get("status") == "sold_out"]
            assert len(flips) == 1
    async with c.services.db.read() as s:
        held = await order_actions.held(s, lid)
    assert held.sold == 100 and max(held.users.values()) == 1
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["stock"] == 100 and stock["sold"] == 100
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert cart["listings"][0]["status"] == "sold_out"
    # retries of the winners with the same keys: the same orders, nothing new
    winners = [(u, k) for (u, k), a in zip(attempts, answers, strict=True) if a.status_code == 201]
    first = {a.json()["id"] for a in answers if a.status_code == 201}
    again = await asyncio.gather(*(_buy(c, rid, lid, u, k, sku) for u, k in winners[:20]))
    # a retry gets the first answer again: 201, marked as replayed
    assert all(a.status_code == 201 and a.json()["id"] in first for a in again)
    assert all(a.headers["Idempotent-Replayed"] == "true" for a in again)
    bodies = {a.json()["id"]: a.json() for a in answers if a.status_code == 201}
    assert all(a.json() == bodies[a.json()["id"]] for a in again)  # the same body as the first
    async with c.services.db.read() as s:
        assert (await order_actions.held(s, lid)).sold == 100
    assert await c.services.orders.reconcile([lid], settle_seconds=0) == []


async def test_refusals_name_the_reason(shop: Client, clock: FakeClock) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=3, limit=2)
    r = await _buy(c, rid, lid, "u1", "a", sku, qty=3)
    assert r.status_code == 409 and r.json()["error"]["code"] == "limit_reached"
    await ok(await _buy(c, rid, lid, "u1", "b", sku, qty=2), 201)
    r = await _buy(c, rid, lid, "u2", "c", sku, qty=2)
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"
    assert r.json()["error"]["details"]["left"] == 1
    r = await _buy(c, rid, lid, "u1", "b", sku, qty=1)  # the same key with another body
    assert r.status_code == 422 or r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_mismatch"
    r = await c.call(
        "POST",
        f"/rooms/{rid}/listings/{lid}/orders",
        ("u3", Role.VIEWER),
        json={"sku_id": sku, "quantity": 1, "address": ADDRESS},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["header"] == "Idempotency-Key"
    r = await _buy(c, rid, lid, "u3", "d", 999_999)  # a SKU of another product: a conflict with the listing
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "sku_id"
    bad = {**ADDRESS, "country": "China"}
    r = await c.call(
        "POST",
        f"/rooms/{rid}/listings/{lid}/orders",
        ("u3", Role.VIEWER),
        json={"sku_id": sku, "quantity": 1, "address": bad},
        headers={"Idempotency-Key": "e"},
    )
    assert r.status_code == 422
    # a countdown: not started yet, with the seconds left
    start = clock() + timedelta(seconds=90)
    await ok(
        await c.call(
            "PUT",
            f"/rooms/{rid}/listings/{lid}/stock",
            w.operator,
            json={"stock": 3, "limit_per_user": 2, "starts_at": start.isoformat()},
        )
    )
    r = await _buy(c, rid, lid, "u4", "f", sku)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_started"
    assert r.json()["error"]["details"]["seconds_to_start"] == 90
    r = await c.call(
        "PUT", f"/rooms/{rid}/listings/{lid}/stock", w.operator, json={"stock": 1, "limit_per_user": 2}
    )
    assert r.status_code == 409  # below the 2 units already ordered
    await ok(await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "off"}))
    r = await _buy(c, rid, lid, "u4", "g", sku)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_on_sale"
    await ok(await c.call("POST", f"/rooms/{rid}/end", w.streamer))
    r = await _buy(c, rid, lid, "u4", "h", sku)
    assert r.status_code == 409 and r.json()["error"]["code"] == "room_ended"
    r = await _buy(c, rid, lid, "u1", "b", sku, qty=2)  # a retry still answers after the room ended
    assert r.status_code == 201 and r.headers["Idempotent-Replayed"] == "true"
    for who in (("st-a", Role.VIEWER), STAFF):
        r = await c.call("PUT", f"/rooms/{rid}/listings/{lid}/stock", who, json={"stock": 5})
        assert r.status_code in (403, 409)


async def test_a_failed_order_write_returns_the_stock(shop: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=5, limit=None)

    async def broken_write(session: Any, order: Order, **kw: Any) -> Order:
        raise ConnectionResetError("database went away mid-write")

    async def broken_writes(session: Any, orders: list[Order]) -> list[Order]:
        raise ConnectionResetError("database went away mid-write")

    monkeypatch.setattr(order_actions, "write_order", broken_write)
    monkeypatch.setattr(order_actions, "write_orders", broken_writes)
    r = await _buy(c, rid, lid, "u1", "k1", sku, qty=2)
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1  # not a 500: try again
    assert r.json()["error"]["details"]["reason"] == "connection_failed"
    monkeypatch.undo()
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["sold"] == 0  # the deducted units came back
    assert await c.services.orders.reconcile([lid], settle_seconds=0) == []
    await ok(await _buy(c, rid, lid, "u1", "k1", sku, qty=5), 201)  # all five can still be bought


async def test_reconciliation_leaves_a_sale_alone_while_its_orders_are_being_written(
    shop: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow write (SQLite under a flash sale) leaves the counters ahead of the orders for seconds;
    repairing them then would let the buyer past their limit once the order lands."""
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=5, limit=1)
    release = asyncio.Event()
    real_writes = order_actions.write_orders

    async def slow_writes(session: Any, orders: list[Order]) -> list[Order]:
        await release.wait()
        return await real_writes(session, orders)

    monkeypatch.setattr(order_actions, "write_orders", slow_writes)
    buying = asyncio.ensure_future(_buy(c, rid, lid, "u1", "k1", sku))
    for _ in range(200):  # until the stock is taken and the write waits
        if (await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock")))["sold"] == 1:
            break
        await asyncio.sleep(0.01)
    drift = await c.services.orders.drift(lid)
    assert drift is not None and (drift.ledger_sold, drift.orders_sold) == (1, 0)  # the ledger is ahead
    assert await c.services.orders.reconcile([lid], settle_seconds=0) == []  # and is left so
    r = await _buy(c, rid, lid, "u1", "k2", sku)  # the same buyer again: still over the limit
    assert r.status_code == 409 and r.json()["error"]["code"] == "limit_reached"
    release.set()
    await ok(await buying, 201)
    assert await c.services.orders.drift(lid) is None


async def test_cancelling_the_last_order_puts_a_sold_out_listing_back_on_sale(shop: Client) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=1, limit=1)
    order = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert cart["listings"][0]["status"] == "sold_out"
    r = await c.call("POST", f"/orders/{order['id']}/cancel", ("u2", Role.VIEWER), json={})
    assert r.status_code == 404  # someone else's order
    done = await ok(await c.call("POST", f"/orders/{order['id']}/cancel", ("u1", Role.VIEWER), json={}))
    assert done["status"] == "cancelled"
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert cart["listings"][0]["status"] == "on_sale"
    again = await ok(await _buy(c, rid, lid, "u1", "k2", sku), 201)  # the limit counts held units only
    assert again["id"] != order["id"]
    r = await c.call("POST", f"/orders/{order['id']}/cancel", ("u1", Role.VIEWER), json={})
    assert r.status_code == 409 and r.json()["error"]["details"]["allowed"] == []


async def _pay(c: Client, order_id: int) -> None:
    """What a verified payment notification does (payments come with the payment provider)."""
    await c.services.orders.move(order_id, OrderStatus.PAID, actor=Actor.SYSTEM, actor_id="payment-test")


async def test_unpaid_orders_close_on_time_and_return_their_stock(shop: Client, clock: FakeClock) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=2, limit=None)
    jobs = OrderJobs(c.services)
    a = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    clock.advance(minutes=5)
    b = await ok(await _buy(c, rid, lid, "u2", "k2", sku), 201)
    assert (await ok(await c.call("GET", f"/rooms/{rid}/cart")))["listings"][0]["status"] == "sold_out"
    clock.advance(minutes=9, seconds=59)
    assert await jobs.sweep_once() == []  # a's 15 minutes are not over yet
    clock.advance(seconds=2)
    moved = await jobs.sweep_once()
    assert [m.order.id for m in moved] == [a["id"]]
    got = await ok(await c.call("GET", f"/orders/{a['id']}", ("u1", Role.VIEWER)))
    assert got["status"] == "closed" and got["allowed_statuses"] == []
    assert (await ok(await c.call("GET", f"/rooms/{rid}/cart")))["listings"][0]["status"] == "on_sale"
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["sold"] == 1
    hist = await ok(await c.call("GET", f"/orders/{a['id']}/history", ("u1", Role.VIEWER)))
    assert [(h["from_state"], h["to_state"], h["actor_id"]) for h in hist["items"]] == [
        (None, "pending_payment", "u1"),
        ("pending_payment", "closed", "system"),
    ]
    await _pay(c, b["id"])
    clock.advance(hours=1)
    assert await jobs.sweep_once() == []  # paid orders do not close
    assert await jobs.reconcile_once(settle_seconds=0) == []


async def test_shipping_receipt_and_auto_completion(shop: Client, clock: FakeClock) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=10, limit=None)
    other = await qualified_shop(c, "b", products=0)
    orders = [await ok(await _buy(c, rid, lid, f"u{i}", f"k{i}", sku), 201) for i in range(4)]
    ids = [o["id"] for o in orders]
    ship = {"carrier": "SF Express", "tracking_no": "SF1234567890"}
    r = await c.call("POST", f"/orders/{ids[0]}/ship", w.operator, json=ship)
    assert r.status_code == 409 and r.json()["error"]["details"]["allowed"] == ["cancelled", "closed", "paid"]
    for i in ids[:3]:
        await _pay(c, i)
    for who in (w.streamer, other.operator, ("u0", Role.VIEWER)):
        r = await c.call("POST", f"/orders/{ids[0]}/ship", who, json=ship)
        assert r.status_code in (403, 404), (who, r.text)
    shipped = await ok(await c.call("POST", f"/orders/{ids[0]}/ship", w.operator, json=ship))
    assert shipped["status"] == "shipped" and shipped["tracking_no"] == "SF1234567890"
    assert shipped["complete_by"] is not None
    bulk = await ok(
        await c.call(
            "POST",
            f"/shops/{w.shop_id}/orders/ship",
            w.operator,
            json={"items": [{"order_id": i, **ship} for i in (ids[1], ids[2], ids[3], ids[0])]},
        )
    )
    assert [(x["order_id"], x["ok"]) for x in bulk["results"]] == [
        (ids[1], True),
        (ids[2], True),
        (ids[3], False),  # unpaid
        (ids[0], False),  # shipped already
    ]
    assert bulk["results"][2]["error"]["code"] == "invalid_transition"
    r = await c.call(
        "POST",
        f"/shops/{w.shop_id}/orders/ship",
        other.operator,
        json={"items": [{"order_id": ids[1], **ship}]},
    )
    assert r.status_code == 403
    confirmed = await ok(await c.call("POST", f"/orders/{ids[0]}/confirm-receipt", ("u0", Role.VIEWER)))
    assert confirmed["status"] == "completed"
    r = await c.call("POST", f"/orders/{ids[1]}/confirm-receipt", w.operator)
    assert r.status_code == 403
    await ok(await c.call("POST", f"/orders/{ids[1]}/deliver", w.operator))
    page = await ok(
        await c.call(
            "GET", f"/shops/{w.shop_id}/orders", w.operator, params={"status": ["shipped", "delivered"]}
        )
    )
    assert {o["id"]: o["status"] for o in page["items"]} == {ids[1]: "delivered", ids[2]: "shipped"}
    assert (await c.call("GET", f"/shops/{w.shop_id}/orders", other.operator)).status_code == 403
    mine = await ok(await c.call("GET", "/me/orders", ("u1", Role.VIEWER)))
    assert [o["id"] for o in mine["items"]] == [ids[1]] and mine["items"][0]["room_id"] == rid
    assert mine["items"][0]["streamer_id"] == w.streamer[0]
    clock.advance(days=10, seconds=1)
    moved = await OrderJobs(c.services).sweep_once()
    assert sorted((m.order.id, m.order.status) for m in moved) == [
        (ids[1], "completed"),
        (ids[2], "completed"),
        (ids[3], "closed"),  # never paid
    ]
    assert await OrderJobs(c.services).sweep_once() == []
    staff_view = await ok(await c.call("GET", f"/orders/{ids[2]}", STAFF))
    assert staff_view["status"] == "completed"


async def test_a_new_live_price_applies_to_the_next_purchase(shop: Client) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=10, limit=None)
    first = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    await ok(
        await c.call("PUT", f"/rooms/{rid}/listings/{lid}/price", w.streamer, json={"live_price_minor": 990})
    )
    second = await ok(await _buy(c, rid, lid, "u2", "k2", sku), 201)  # not the price read a moment ago
    assert first["unit_price_minor"] != 990 and second["unit_price_minor"] == 990


async def test_concurrent_twins_with_one_key_make_one_order(shop: Client) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=10, limit=None)
    answers = await asyncio.gather(*(_buy(c, rid, lid, "u1", "same-key", sku, qty=2) for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7  # one made it
    assert len({a.json()["id"] for a in answers}) == 1
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["sold"] == 2  # the twins that lost gave their units back


async def test_a_retry_is_answered_even_after_redis_lost_the_sale(
    shop: Client, backend: tuple[str, dict[str, Any]]
) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=5, limit=1)
    order = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    if backend[1].get("redis_url"):  # Redis restarted empty: counters and key marks are gone
        from redis.asyncio import Redis

        r = Redis.from_url(backend[1]["redis_url"])
        await r.delete(*[k async for k in r.scan_iter(f"{backend[1]['redis_prefix']}:*")])
        await r.aclose()
    again = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)  # rebuilt from the orders, marks too
    assert again["id"] == order["id"]
    r2 = await _buy(c, rid, lid, "u1", "k2", sku)  # and the limit still counts the order
    assert r2.status_code == 409 and r2.json()["error"]["code"] == "limit_reached"
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert stock["sold"] == 1


async def test_a_shops_orders_filter_by_the_time_they_were_placed(shop: Client, clock: FakeClock) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=10, limit=None)
    first = clock()
    a = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    clock.advance(minutes=10)
    b = await ok(await _buy(c, rid, lid, "u2", "k2", sku), 201)

    async def ids(**params: str) -> list[int]:
        page = await ok(await c.call("GET", f"/shops/{w.shop_id}/orders", w.operator, params=params))
        return [o["id"] for o in page["items"]]

    later = (first + timedelta(minutes=5)).isoformat()
    assert await ids(created_from=first.isoformat()) == [b["id"], a["id"]]  # from: inclusive
    assert await ids(created_from=later) == [b["id"]]
    assert await ids(created_to=later) == [a["id"]]
    assert await ids(created_to=first.isoformat()) == []  # to: exclusive
    assert await ids(created_from=later, created_to=clock().isoformat()) == []
    assert await ids(created_from=later, status="pending_payment", room_id=str(rid)) == [b["id"]]
    mine = await ok(await c.call("GET", "/me/orders", ("u1", Role.VIEWER), params={"created_to": later}))
    assert [o["id"] for o in mine["items"]] == [a["id"]]
    for bad in ("2026-11-24T12:00", "0.5", "1700000000"):  # no zone, or a number: not a time we read
        r = await c.call("GET", f"/shops/{w.shop_id}/orders", w.operator, params={"created_from": bad})
        assert r.status_code == 422, bad
