"""Paying through the sandbox provider: signed notifications applied once, duplicates ignored, bad
signatures refused with nothing changed, amount mismatches flagged, late payments refunded."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from commerce.core.identity import Role
from commerce.payments.models import PaymentNotice
from commerce.payments.signing import notification_headers
from live.ordering.jobs import OrderJobs
from tests.e2e.buying import _buy, _sale
from tests.e2e.world import FINANCE, STAFF, ok
from tests.support import Client, FakeClock

BUYER = ("u1", Role.VIEWER)


async def _order(c: Client, stock: int = 5) -> dict[str, Any]:
    _w, rid, lid, sku = await _sale(c, stock=stock, limit=None)
    return await ok(await _buy(c, rid, lid, "u1", "k1", sku, qty=2), 201)


async def _notices(c: Client) -> int:
    async with c.services.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(PaymentNotice)) or 0)


async def test_a_signed_notification_pays_the_order_once(shop: Client) -> None:
    c = shop
    bank = c.services.sandbox
    assert bank is not None
    bank.duplicate_every = 1  # every notification is delivered twice, as real providers sometimes do
    order = await _order(c)
    r = await c.call("POST", f"/orders/{order['id']}/pay", ("u2", Role.VIEWER))
    assert r.status_code == 404  # not your order
    checkout = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    assert checkout["amount_minor"] == order["total_minor"] and checkout["pay_url"].endswith(
        checkout["out_trade_no"]
    )
    again = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    assert again["payment_id"] == checkout["payment_id"]  # asking again reuses the payment
    page = await c.http.get(f"/sandbox/pay/{checkout['out_trade_no']}")  # the page a person clicks through
    assert page.status_code == 200 and "Pay now" in page.text
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    form = page.url.join(action)  # where the browser posts the button's form
    assert form.path == f"/sandbox/pay/{checkout['out_trade_no']}/confirm"
    clicked = await c.http.post(form)
    assert clicked.status_code == 303 and clicked.headers["location"].endswith(
        f"/sandbox/pay/{checkout['out_trade_no']}"
    )
    assert await bank.deliver_due() == 1
    paid = await ok(await c.call("GET", f"/orders/{order['id']}", BUYER))
    assert paid["status"] == "paid" and paid["paid_at"] is not None
    bank.now = lambda: c.services.clock().timestamp() + 1
    assert await bank.deliver_due() == 1  # the duplicate: answered 200, changes nothing
    assert [status for _, _, status in bank.delivered] == [200, 200]
    assert await _notices(c) == 1
    pays = await ok(await c.call("GET", f"/orders/{order['id']}/payments", BUYER))
    assert [p["status"] for p in pays["payments"]] == ["paid"]
    assert pays["payments"][0]["provider_txn_id"].startswith("SBX")
    hist = await ok(await c.call("GET", f"/orders/{order['id']}/history", BUYER))
    assert hist["items"][-1]["to_state"] == "paid" and hist["items"][-1]["actor_id"] == "system"
    r = await c.call("POST", f"/orders/{order['id']}/pay", BUYER)
    assert r.status_code == 409  # paid orders are not paid again


async def test_a_bad_signature_is_refused_and_changes_nothing(shop: Client) -> None:
    c = shop
    order = await _order(c)
    checkout = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    body = json.dumps(
        {
            "id": "forged-1",
            "resource": {
                "kind": "payment",
                "out_trade_no": checkout["out_trade_no"],
                "status": "paid",
                "amount_minor": checkout["amount_minor"],
                "currency": "CNY",
                "txn_id": "X",
            },
        }
    ).encode()
    now = c.services.clock().timestamp()
    for headers in (
        notification_headers("not-the-secret", body, now),  # wrong key
        {**notification_headers(c.services.settings.payment_notify_secret, body, now - 3600)},  # replayed
        {},  # unsigned
    ):
        r = await c.http.post("/payments/notify/sandbox", content=body, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_signature", r.text
    tampered = notification_headers(c.services.settings.payment_notify_secret, body, now)
    r = await c.http.post("/payments/notify/sandbox", content=body.replace(b"CNY", b"USD"), headers=tampered)
    assert r.status_code == 401
    assert (await c.http.post("/payments/notify/other", content=body, headers=tampered)).status_code == 404
    assert await _notices(c) == 0
    assert (await ok(await c.call("GET", f"/orders/{order['id']}", BUYER)))["status"] == "pending_payment"
    good = notification_headers(c.services.settings.payment_notify_secret, body, now)
    assert (await ok(await c.http.post("/payments/notify/sandbox", content=body, headers=good)))[
        "outcome"
    ] == "applied"


async def test_an_amount_mismatch_is_flagged_not_applied(shop: Client) -> None:
    c = shop
    order = await _order(c)
    checkout = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    provider = c.services.payments.provider
    await provider.test_pay(checkout["out_trade_no"], amount_minor=1)  # type: ignore[attr-defined]
    assert c.services.sandbox is not None
    await c.services.sandbox.deliver_due()
    assert (await ok(await c.call("GET", f"/orders/{order['id']}", BUYER)))["status"] == "pending_payment"
    assert (await c.call("GET", "/staff/finance/flags", BUYER)).status_code == 403
    flags = await ok(await c.call("GET", "/staff/finance/flags", FINANCE))
    assert [(f["kind"], f["order_id"]) for f in flags["items"]] == [("amount_mismatch", order["id"])]
    assert flags["items"][0]["details"]["expected_minor"] == order["total_minor"]
    assert flags["items"][0]["details"]["notified_minor"] == 1


async def test_a_payment_after_the_order_closed_is_refunded(shop: Client, clock: FakeClock) -> None:
    c = shop
    bank = c.services.sandbox
    assert bank is not None
    order = await _order(c, stock=2)
    checkout = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    clock.advance(minutes=14)
    working = bank.sender

    async def down(url: str, headers: dict[str, str], body: bytes) -> int:
        return 503  # our webhook is unreachable for a while

    bank.sender = down
    await c.services.payments.provider.test_pay(checkout["out_trade_no"])  # type: ignore[attr-defined]
    await bank.deliver_due()  # the first try fails; the provider retries in 15 s
    clock.advance(minutes=2)
    moved = await OrderJobs(c.services).sweep_once()  # meanwhile the unpaid order closes
    assert [m.order.id for m in moved] == [order["id"]]
    bank.sender = working
    await bank.deliver_due()
    closed = await ok(await c.call("GET", f"/orders/{order['id']}", BUYER))
    assert closed["status"] == "closed"
    pays = await ok(await c.call("GET", f"/orders/{order['id']}/payments", BUYER))
    assert [p["status"] for p in pays["payments"]] == ["refunded"]
    assert [(r["status"], r["amount_minor"]) for r in pays["refunds"]] == [
        ("succeeded", order["total_minor"])
    ]
    flags = await ok(await c.call("GET", "/staff/finance/flags", STAFF))
    assert [f["kind"] for f in flags["items"]] == ["late_payment"]
    await bank.deliver_due()  # the provider's refund notification: already applied, nothing changes
    statement = (await c.services.payments.provider.statement(clock().date())).decode().splitlines()
    assert [line.split(",")[1] for line in statement[1:]] == ["payment", "refund"]


async def test_the_daily_statement_is_reconciled_with_our_records(shop: Client, clock: FakeClock) -> None:
    c = shop
    bank = c.services.sandbox
    assert bank is not None
    order = await _order(c)
    checkout = await ok(await c.call("POST", f"/orders/{order['id']}/pay", BUYER))
    await c.services.payments.provider.test_pay(checkout["out_trade_no"])  # type: ignore[attr-defined]
    await bank.deliver_due()
    day = clock().date().isoformat()
    assert (await c.call("POST", f"/staff/finance/statements/{day}/reconcile", BUYER)).status_code == 403
    assert (await c.call("POST", "/staff/finance/statements/not-a-day/reconcile", FINANCE)).status_code == 404
    wrong = await c.call("POST", "/staff/finance/statements/2026-02-30/reconcile", FINANCE)
    assert (wrong.status_code, wrong.json()["error"]["details"]["field"]) == (422, "day")
    # the day has not ended: its statement is not final yet (a conflict with the clock, asked again later)
    early = await c.call("POST", f"/staff/finance/statements/{day}/reconcile", FINANCE)
    assert (early.status_code, early.json()["error"]["details"]["field"]) == (409, "day")
    tomorrow = (clock().date() + timedelta(days=1)).isoformat()
    later = await c.call("POST", f"/staff/finance/statements/{tomorrow}/reconcile", FINANCE)
    assert later.status_code == 409
    clock.advance(hours=24 - clock().hour)  # midnight: the day has just ended
    clean = await ok(await c.call("POST", f"/staff/finance/statements/{day}/reconcile", FINANCE))
    assert (clean["lines"], clean["matched"], clean["mismatches"]) == (1, 1, [])
    assert clean["fees"] == [{"currency": "CNY", "amount_minor": order["total_minor"] * 6000 // 1_000_000}]
    # money the provider took (the next day) for a payment we never created: flagged, once
    day = clock().date().isoformat()
    bank.create(
        {
            "out_trade_no": "STRAY1",
            "amount_minor": 500,
            "currency": "CNY",
            "notify_url": "http://nowhere.invalid/",
            "expires_at": (clock() + timedelta(hours=1)).isoformat(),
        }
    )
    bank.pay("STRAY1")
    clock.advance(days=1)
    for _ in range(2):
        check = await ok(await c.call("POST", f"/staff/finance/statements/{day}/reconcile", FINANCE))
        assert [(m["out_trade_no"], m["problem"]) for m in check["mismatches"]] == [
            ("STRAY1", "unknown payment")
        ]
    flags = await ok(await c.call("GET", "/staff/finance/flags", FINANCE))
    assert [f["kind"] for f in flags["items"]].count("statement_mismatch") == 1
