"""The main path through the API: apply, approve, stock the catalog, schedule, go live, sell, end."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.world import STAFF, VIEWER, application, ok, qualified_shop, room_body, scheduled_room
from tests.support import Client


async def test_shop_application_to_live_room(client: Client) -> None:
    c = client
    conditions = await ok(await c.call("GET", "/shops/live-conditions"))
    assert conditions["conditions"] and "accepted_conditions_version" in conditions["form_fields"]

    w = await qualified_shop(c)
    room = await scheduled_room(c, w, stock=20)
    rid = room["id"]
    assert room["state"] == "scheduled" and room["allowed_transitions"] == [
        "cancelled",
        "force_ended",
        "live",
    ]

    # a guest reads the preview and the cart; a viewer subscribes, twice, idempotently
    preview = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert preview["title"] == "Evening live"
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert [(x["status"], x["units_left"]) for x in cart["listings"]] == [("pending", 20), ("pending", 20)]
    for _ in range(2):
        sub = await ok(await c.call("PUT", f"/rooms/{rid}/subscription", VIEWER))
    assert sub == {"room_id": rid, "subscribed": True, "subscriber_count": 1}

    # go live, flip a listing to grab-now, explain it, sell out
    c.services.clock.advance(hours=2)  # type: ignore[attr-defined]
    live = await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    assert live["state"] == "live" and live["started_at"]
    lid = room["listing_ids"][0]
    flipped = await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    )
    assert flipped["status"] == "on_sale" and flipped["allowed_statuses"] == ["off", "sold_out"]
    cart = await ok(await c.call("PUT", f"/rooms/{rid}/explaining", w.streamer, json={"listing_id": lid}))
    assert cart["explaining_listing_id"] == lid
    priced = await ok(
        await c.call("PUT", f"/rooms/{rid}/listings/{lid}/price", w.streamer, json={"live_price_minor": 9900})
    )
    assert priced["live_price_minor"] == 9900
    await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "sold_out"})
    )

    c.services.clock.advance(minutes=90)  # type: ignore[attr-defined]
    ended = await ok(await c.call("POST", f"/rooms/{rid}/end", w.streamer))
    assert ended["state"] == "ended" and ended["allowed_transitions"] == []
    # the end closed the cart: the sold-out listing stays so, the pending one is off; no move is offered
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert [(x["status"], x["allowed_statuses"]) for x in cart["listings"]] == [("sold_out", []), ("off", [])]

    report = await ok(await c.call("GET", f"/rooms/{rid}/report", w.operator))
    assert report["final"] and report["duration_seconds"] == 90 * 60
    assert report["listings"][0]["status"] == "sold_out" and report["listings"][0]["times_on_sale"] == 1

    hist = await ok(await c.call("GET", f"/rooms/{rid}/history", w.operator))
    assert [(h["from_state"], h["to_state"]) for h in hist["items"]] == [
        (None, "scheduled"),
        ("scheduled", "live"),
        ("live", "ended"),
    ]
    assert all(h["actor_id"] == w.streamer[0] for h in hist["items"])
    lhist = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/history", STAFF))
    assert [h["to_state"] for h in lhist["items"]] == ["pending", "on_sale", "sold_out"]
    other = await ok(await c.call("GET", f"/rooms/{rid}/listings/{room['listing_ids'][1]}/history", STAFF))
    assert [(h["to_state"], h["actor_id"], h["reason"]) for h in other["items"]] == [
        ("pending", w.streamer[0], None),
        ("off", w.streamer[0], "room ended"),
    ]


async def test_start_now_room_and_staff_force_end(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    room = await ok(
        await c.call("POST", "/rooms", w.streamer, json=room_body(w.shop_id, start_now=True)), 201
    )
    assert room["state"] == "live"
    listing = await ok(await c.call("GET", "/staff/rooms", STAFF))
    assert listing["items"][0]["id"] == room["id"]
    ended = await ok(
        await c.call(
            "POST", f"/staff/rooms/{room['id']}/force-end", STAFF, json={"reason": "prohibited goods"}
        )
    )
    assert ended["state"] == "force_ended" and ended["end_reason"] == "prohibited goods"
    audit = await ok(await c.call("GET", "/staff/audit-log", STAFF, params={"action": "room.force_end"}))
    assert audit["total"] == 1 and audit["items"][0]["reason"] == "prohibited goods"
    assert audit["items"][0]["details"]["from"] == "live"


async def test_rejected_shop_reapplies_and_revocation_stops_new_rooms(client: Client) -> None:
    c = client
    op = ("op-x", __import__("commerce.core.identity", fromlist=["Role"]).Role.SHOP_OPERATOR)
    shop = await ok(await c.call("POST", "/shops", op, json=application("Shop X")), 201)
    sid = shop["id"]
    rejected = await ok(
        await c.call(
            "POST",
            f"/staff/shops/{sid}/decisions",
            STAFF,
            json={"decision": "reject", "reason": "license unreadable"},
        )
    )
    assert rejected["live_status"] == "rejected" and rejected["status_reason"] == "license unreadable"
    again = await ok(
        await c.call(
            "PUT",
            f"/shops/{sid}/application",
            op,
            json=application("Shop X", business_license_no="91310000NEW0001"),
        )
    )
    assert again["live_status"] == "applied"
    await ok(await c.call("POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": "approve"}))
    revoked = await ok(
        await c.call(
            "POST",
            f"/staff/shops/{sid}/decisions",
            STAFF,
            json={"decision": "revoke", "reason": "fake goods"},
        )
    )
    assert revoked["live_status"] == "revoked" and revoked["allowed_decisions"] == ["restore"]
    hist = await ok(await c.call("GET", f"/shops/{sid}/history", op))
    assert [h["to_state"] for h in hist["items"]] == ["applied", "rejected", "applied", "approved", "revoked"]
    assert hist["items"][1]["actor_id"] == STAFF[0] and hist["items"][1]["reason"] == "license unreadable"
    # a revoked shop's room cannot be created
    when = (c.services.clock() + timedelta(hours=1)).isoformat()
    r = await c.call(
        "POST", "/rooms", op, json=room_body(sid, at=None, scheduled_at=when, streamer_id="op-x")
    )
    assert r.status_code == 403 and r.json()["error"]["details"]["live_status"] == "revoked"
    restored = await ok(
        await c.call("POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": "restore"})
    )
    assert restored["live_status"] == "approved"
