"""Every illegal room, listing and shop move answers 409 naming the allowed moves, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.core.identity import Role
from tests.e2e.world import STAFF, ShopWorld, application, ok, qualified_shop, scheduled_room
from tests.support import Client

ROOM_STATES = ["scheduled", "live", "ended", "force_ended", "cancelled"]
# the legal moves, written out independently of the server's tables
ROOM_ALLOWED = {
    "scheduled": {"live", "cancelled", "force_ended"},
    "live": {"ended", "force_ended"},
    "ended": set(),
    "force_ended": set(),
    "cancelled": set(),
}
LISTING_ALLOWED = {
    "pending": {"on_sale", "off"},
    "on_sale": {"sold_out", "off"},
    "sold_out": {"on_sale", "off"},
    "off": {"pending", "on_sale"},
}
# how to reach each room state from a new scheduled room
ROOM_PATHS = {
    "scheduled": [],
    "live": ["live"],
    "ended": ["live", "ended"],
    "force_ended": ["force_ended"],
    "cancelled": ["cancelled"],
}
# how to reach each listing status from pending (room live)
LISTING_PATHS = {
    "pending": [],
    "on_sale": ["on_sale"],
    "sold_out": ["on_sale", "sold_out"],
    "off": ["off"],
}


async def _move_room(c: Client, w: ShopWorld, room_id: int, target: str) -> Any:
    if target == "live":
        return await c.call("POST", f"/rooms/{room_id}/start", w.streamer)
    if target == "ended":
        return await c.call("POST", f"/rooms/{room_id}/end", w.streamer)
    if target == "cancelled":
        return await c.call("POST", f"/rooms/{room_id}/cancel", w.streamer, json={"reason": "changed plans"})
    return await c.call("POST", f"/staff/rooms/{room_id}/force-end", STAFF, json={"reason": "rules"})


async def _room_in(c: Client, w: ShopWorld, state: str) -> dict[str, Any]:
    room = await scheduled_room(c, w, stock=5)
    for step in ROOM_PATHS[state]:
        await ok(await _move_room(c, w, room["id"], step))
    return room


ILLEGAL_ROOM = [
    (s, t)
    for s in ROOM_STATES
    for t in ["live", "ended", "cancelled", "force_ended"]
    if t not in ROOM_ALLOWED[s]
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL_ROOM, ids=[f"{s}->{t}" for s, t in ILLEGAL_ROOM])
async def test_illegal_room_moves(client: Client, current: str, target: str) -> None:
    c = client
    w = await qualified_shop(c)
    room = await _room_in(c, w, current)
    before = (await c.call("GET", f"/rooms/{room['id']}/history", STAFF)).json()
    r = await _move_room(c, w, room["id"], target)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_transition"
    assert err["details"] == {
        "entity": "room",
        "from": current,
        "to": target,
        "allowed": sorted(ROOM_ALLOWED[current]),
    }
    assert (await c.call("GET", f"/rooms/{room['id']}")).json()["state"] == current
    assert (await c.call("GET", f"/rooms/{room['id']}/history", STAFF)).json() == before


ILLEGAL_LISTING = [(s, t) for s in LISTING_ALLOWED for t in LISTING_ALLOWED if t not in LISTING_ALLOWED[s]]


@pytest.mark.parametrize(
    ("current", "target"), ILLEGAL_LISTING, ids=[f"{s}->{t}" for s, t in ILLEGAL_LISTING]
)
async def test_illegal_listing_moves(client: Client, current: str, target: str) -> None:
    c = client
    w = await qualified_shop(c)
    room = await _room_in(c, w, "live")
    rid, lid = room["id"], room["listing_ids"][0]
    for step in LISTING_PATHS[current]:
        await ok(
            await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": step})
        )
    before = (await c.call("GET", f"/rooms/{rid}/listings/{lid}/history", STAFF)).json()
    r = await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": target})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_transition"
    assert err["details"]["allowed"] == sorted(LISTING_ALLOWED[current])
    assert err["details"]["from"] == current and err["details"]["to"] == target
    cart = (await c.call("GET", f"/rooms/{rid}/cart")).json()
    assert cart["listings"][0]["status"] == current
    assert (await c.call("GET", f"/rooms/{rid}/listings/{lid}/history", STAFF)).json() == before


async def test_listing_goes_on_sale_only_while_live(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w)
    rid, lid = room["id"], room["listing_ids"][0]
    r = await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    assert r.status_code == 409
    assert r.json()["error"]["details"] == {"room_state": "scheduled", "required_room_state": "live"}
    # switching off before the broadcast is fine
    await ok(await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "off"}))
    r = await c.call("PUT", f"/rooms/{rid}/explaining", w.streamer, json={"listing_id": lid})
    assert r.status_code == 409 and r.json()["error"]["details"]["required_room_state"] == "live"


@pytest.mark.parametrize("final", ["ended", "force_ended", "cancelled"])
async def test_a_final_rooms_cart_and_details_are_frozen(client: Client, final: str) -> None:
    c = client
    w = await qualified_shop(c, products=3)
    room = await _room_in(c, w, final)
    rid, lid = room["id"], room["listing_ids"][0]
    before = (await c.call("GET", f"/rooms/{rid}/cart")).json()
    attempts = [
        ("POST", f"/rooms/{rid}/listings/{lid}/status", {"status": "off"}),
        ("PUT", f"/rooms/{rid}/listings/{lid}/price", {"live_price_minor": 100}),
        ("DELETE", f"/rooms/{rid}/listings/{lid}", None),
        ("PUT", f"/rooms/{rid}/cart/order", {"listing_ids": list(reversed(room["listing_ids"]))}),
        ("PUT", f"/rooms/{rid}/explaining", {"listing_id": lid}),
        ("PATCH", f"/rooms/{rid}", {"title": "new title"}),
    ]
    for method, path, body in attempts:
        r = await c.call(method, path, w.streamer, json=body)
        assert r.status_code == 409, f"{method} {path}: {r.text}"
        assert (
            r.json()["error"]["details"].get("room_state", r.json()["error"]["details"].get("state")) == final
        )
    assert (await c.call("GET", f"/rooms/{rid}/cart")).json() == before
    # the report is still readable
    report = await ok(await c.call("GET", f"/rooms/{rid}/report", w.operator))
    assert report["final"] is True and report["state"] == final


async def test_room_is_editable_only_while_scheduled(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w)
    edited = await ok(await c.call("PATCH", f"/rooms/{room['id']}", w.streamer, json={"title": "New title"}))
    assert edited["title"] == "New title"
    await ok(await c.call("POST", f"/rooms/{room['id']}/start", w.streamer))
    r = await c.call("PATCH", f"/rooms/{room['id']}", w.streamer, json={"title": "Live title"})
    assert r.status_code == 409
    assert r.json()["error"]["details"] == {"state": "live", "editable_states": ["scheduled"]}
    assert (await c.call("GET", f"/rooms/{room['id']}")).json()["title"] == "New title"


async def test_subscriptions_only_for_scheduled_rooms(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await _room_in(c, w, "live")
    r = await c.call("PUT", f"/rooms/{room['id']}/subscription", ("v", Role.VIEWER))
    assert r.status_code == 409 and r.json()["error"]["details"]["state"] == "live"


async def test_a_streamer_is_live_in_one_room_at_a_time(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    first = await _room_in(c, w, "live")
    second = await scheduled_room(c, w, listings=False)
    r = await c.call("POST", f"/rooms/{second['id']}/start", w.streamer)
    assert r.status_code == 409 and r.json()["error"]["details"] == {"live_room_id": first["id"]}


SHOP_DECISIONS = {  # status -> allowed decisions
    "applied": ["approve", "reject"],
    "approved": ["revoke"],
    "rejected": [],
    "revoked": ["restore"],
}
SHOP_PATHS = {
    "applied": [],
    "approved": ["approve"],
    "rejected": ["reject"],
    "revoked": ["approve", "revoke"],
}
ILLEGAL_DECISIONS = [
    (s, d)
    for s in SHOP_DECISIONS
    for d in ["approve", "reject", "revoke", "restore"]
    if d not in SHOP_DECISIONS[s]
]


@pytest.mark.parametrize(
    ("status", "decision"), ILLEGAL_DECISIONS, ids=[f"{s}-{d}" for s, d in ILLEGAL_DECISIONS]
)
async def test_illegal_shop_decisions(client: Client, status: str, decision: str) -> None:
    c = client
    op = ("op-d", Role.SHOP_OPERATOR)
    shop = await ok(await c.call("POST", "/shops", op, json=application("Decided")), 201)
    sid = shop["id"]
    for step in SHOP_PATHS[status]:
        await ok(
            await c.call(
                "POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": step, "reason": "r"}
            )
        )
    r = await c.call(
        "POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": decision, "reason": "r"}
    )
    assert r.status_code == 409, r.text
    details = r.json()["error"]["details"]
    assert details["allowed_decisions"] == SHOP_DECISIONS[status] and details["from"] == status
    assert (await c.call("GET", f"/shops/{sid}", STAFF)).json()["live_status"] == status


async def test_only_a_rejected_application_can_be_resubmitted(client: Client) -> None:
    c = client
    op = ("op-r", Role.SHOP_OPERATOR)
    shop = await ok(await c.call("POST", "/shops", op, json=application("Pending")), 201)
    r = await c.call("PUT", f"/shops/{shop['id']}/application", op, json=application("Pending 2"))
    assert r.status_code == 409 and r.json()["error"]["details"]["allowed"] == ["approved", "rejected"]
    assert (await c.call("GET", f"/shops/{shop['id']}")).json()["name"] == "Pending"


async def test_reasons_are_required_for_reject_revoke_and_force_end(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    r = await c.call("POST", f"/staff/shops/{w.shop_id}/decisions", STAFF, json={"decision": "revoke"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "reason"
    r = await c.call("POST", f"/staff/rooms/{room['id']}/force-end", STAFF, json={"reason": "   "})
    assert r.status_code == 422
    assert (await c.call("GET", f"/rooms/{room['id']}")).json()["state"] == "scheduled"
