"""Every role check through the HTTP API: each forbidden action answers 403 (401 for a guest), and
nothing changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from commerce.core.identity import Role
from tests.e2e.world import (
    FINANCE,
    STAFF,
    VIEWER,
    application,
    ok,
    product_body,
    qualified_shop,
    room_body,
    scheduled_room,
)
from tests.support import Client

# (method, path template, body) of every action that changes something, with who may not do it.
# Templates use {shop} {room} {listing} {product} {sku} of shop A's world.
ROOM_MANAGER_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/rooms/{room}", {"title": "hijacked"}),
    ("POST", "/rooms/{room}/start", None),
    ("POST", "/rooms/{room}/end", None),
    ("POST", "/rooms/{room}/cancel", {}),
    ("POST", "/rooms/{room}/listings", {"product_id": "{product2}"}),
    ("POST", "/rooms/{room}/listings/{listing}/status", {"status": "off"}),
    ("PUT", "/rooms/{room}/listings/{listing}/price", {"live_price_minor": 1}),
    ("DELETE", "/rooms/{room}/listings/{listing}", None),
    ("PUT", "/rooms/{room}/cart/order", {"listing_ids": ["{listing}"]}),
    ("PUT", "/rooms/{room}/explaining", {"listing_id": "{listing}"}),
]
ROOM_READER_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/rooms/{room}/history", None),
    ("GET", "/rooms/{room}/report", None),
    ("GET", "/rooms/{room}/listings/{listing}/history", None),
]
OPERATOR_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/shops/{shop}/products", product_body("Intruder product")),
    ("PATCH", "/products/{product}", {"title": "hijacked"}),
    ("POST", "/products/{product}/status", {"status": "archived"}),
    ("POST", "/products/{product}/skus", {"attributes": {"colour": "green"}, "price_minor": 1, "stock": 1}),
    ("PATCH", "/products/{product}/skus/{sku}", {"stock": 0}),
    ("POST", "/shops/{shop}/members", {"user_id": "intruder", "role": "operator"}),
    ("DELETE", "/shops/{shop}/members/{streamer}", None),
    ("PUT", "/shops/{shop}/application", application("Renamed")),
    ("GET", "/shops/{shop}/members", None),
    ("GET", "/shops/{shop}/history", None),
]
STAFF_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/staff/rooms/{room}/force-end", {"reason": "x"}),
    ("POST", "/staff/shops/{shop}/decisions", {"decision": "revoke", "reason": "x"}),
    ("GET", "/staff/shops", None),
    ("GET", "/staff/rooms", None),
    ("GET", "/staff/audit-log", None),
]

OUTSIDERS = {
    "viewer": VIEWER,
    "finance": FINANCE,
    "other-shop-streamer": ("st-b", Role.STREAMER),
    "other-shop-operator": ("op-b", Role.SHOP_OPERATOR),
}


async def _worlds(c: Client) -> dict[str, Any]:
    a = await qualified_shop(c, "a", products=2)
    await qualified_shop(c, "b", products=1)
    room = await scheduled_room(c, a, listings=False)
    lst = await ok(
        await c.call(
            "POST", f"/rooms/{room['id']}/listings", a.streamer, json={"product_id": a.product_ids[0]}
        ),
        201,
    )
    product = await ok(await c.call("GET", f"/products/{a.product_ids[0]}"))
    return {
        "world": a,
        "shop": a.shop_id,
        "room": room["id"],
        "listing": lst["id"],
        "product": a.product_ids[0],
        "product2": a.product_ids[1],
        "sku": product["skus"][0]["id"],
        "streamer": a.streamer[0],
    }


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _snapshot(c: Client, ids: dict[str, Any]) -> list[Any]:
    """Everything the actions above could change, read back as staff."""
    parts = [
        await c.call("GET", f"/rooms/{ids['room']}", STAFF),
        await c.call("GET", f"/rooms/{ids['room']}/cart", STAFF),
        await c.call("GET", f"/rooms/{ids['room']}/history", STAFF),
        await c.call("GET", f"/products/{ids['product']}", STAFF),
        await c.call("GET", f"/shops/{ids['shop']}", STAFF),
        await c.call("GET", f"/shops/{ids['shop']}/members", STAFF),
        await c.call("GET", f"/shops/{ids['shop']}/products", STAFF, params={"include_archived": "true"}),
        await c.call("GET", "/staff/audit-log", STAFF),
    ]
    return [p.json() for p in parts]


async def _refused(c: Client, ids: dict[str, Any], cases: list[Any], actor: Any, status: int) -> None:
    before = await _snapshot(c, ids)
    for method, template, body in cases:
        path = _fill(template, ids)
        r = await c.call(method, path, actor, json=_fill(body, ids) if body is not None else None)
        assert r.status_code == status, f"{actor} {method} {path}: {r.status_code} {r.text}"
        err = r.json()["error"]
        assert err["code"] == ("forbidden" if status == 403 else "unauthenticated"), err
        assert err["message"]
    assert await _snapshot(c, ids) == before


@pytest.mark.parametrize("who", sorted(OUTSIDERS))
async def test_outsiders_cannot_manage_a_shops_room_or_catalog(client: Client, who: str) -> None:
    ids = await _worlds(client)
    actor = OUTSIDERS[who]
    await _refused(client, ids, ROOM_MANAGER_ACTIONS + ROOM_READER_ACTIONS + OPERATOR_ACTIONS, actor, 403)


@pytest.mark.parametrize("who", ["viewer", "finance", "streamer", "operator"])
async def test_only_platform_staff_do_staff_actions(client: Client, who: str) -> None:
    ids = await _worlds(client)
    w = ids["world"]
    actor = {"viewer": VIEWER, "finance": FINANCE, "streamer": w.streamer, "operator": w.operator}[who]
    await _refused(client, ids, STAFF_ACTIONS, actor, 403)


async def test_guests_get_401_on_every_authenticated_action(client: Client) -> None:
    ids = await _worlds(client)
    cases = ROOM_MANAGER_ACTIONS + ROOM_READER_ACTIONS + OPERATOR_ACTIONS + STAFF_ACTIONS
    cases += [
        ("POST", "/shops", application("Guest shop")),
        ("POST", "/rooms", room_body(ids["shop"])),
        ("PUT", "/rooms/{room}/subscription", None),
        ("GET", "/me", None),
    ]
    await _refused(client, ids, cases, None, 401)


async def test_streamer_of_the_shop_cannot_do_operator_work(client: Client) -> None:
    ids = await _worlds(client)
    w = ids["world"]
    cases = [
        c for c in OPERATOR_ACTIONS if c[0] != "GET"
    ]  # members may read their shop's members and history
    await _refused(client, ids, cases, w.streamer, 403)


async def test_membership_needs_the_matching_role_in_the_token(client: Client) -> None:
    ids = await _worlds(client)
    w = ids["world"]
    # the shop's streamer, with a token that only says "viewer", cannot act for the shop
    as_viewer = (w.streamer[0], Role.VIEWER)
    await _refused(client, ids, ROOM_MANAGER_ACTIONS, as_viewer, 403)
    # the operator's membership does not make an operator token act as a streamer elsewhere
    as_staff_only = (w.operator[0], Role.PLATFORM_STAFF)
    r = await client.call("POST", f"/shops/{ids['shop']}/products", as_staff_only, json=product_body())
    assert r.status_code == 403


async def test_room_creation_rules(client: Client) -> None:
    c = client
    ids = await _worlds(c)
    w = ids["world"]
    when = (c.services.clock() + timedelta(hours=3)).isoformat()
    body = room_body(w.shop_id, at=None, scheduled_at=when)
    before = (await c.call("GET", "/rooms")).json()["total"]
    # a streamer cannot create a room for another streamer, nor in another shop
    r = await c.call("POST", "/rooms", w.streamer, json={**body, "streamer_id": "someone-else"})
    assert r.status_code == 403
    r = await c.call("POST", "/rooms", ("st-b", Role.STREAMER), json=body)
    assert r.status_code == 403
    # a viewer or finance cannot create rooms at all
    for actor in (VIEWER, FINANCE):
        assert (await c.call("POST", "/rooms", actor, json=body)).status_code == 403
    # an operator may schedule for the shop's streamer but not start one "now" on their behalf
    r = await c.call(
        "POST", "/rooms", w.operator, json=room_body(w.shop_id, start_now=True, streamer_id=w.streamer[0])
    )
    assert r.status_code == 403
    assert (await c.call("GET", "/rooms")).json()["total"] == before
    created = await ok(
        await c.call("POST", "/rooms", w.operator, json={**body, "streamer_id": w.streamer[0]}), 201
    )
    assert created["streamer_id"] == w.streamer[0]
    # only the room's streamer goes live, not the operator
    r = await c.call("POST", f"/rooms/{created['id']}/start", w.operator)
    assert r.status_code == 403


@pytest.mark.parametrize("status", ["applied", "rejected", "revoked"])
async def test_unqualified_shops_cannot_create_rooms(client: Client, status: str) -> None:
    c = client
    operator, streamer = ("op-u", Role.SHOP_OPERATOR), ("st-u", Role.STREAMER)
    shop = await ok(await c.call("POST", "/shops", operator, json=application("Unqualified")), 201)
    sid = shop["id"]
    await ok(
        await c.call("POST", f"/shops/{sid}/members", operator, json={"user_id": "st-u", "role": "streamer"}),
        201,
    )
    if status == "rejected":
        await ok(
            await c.call(
                "POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": "reject", "reason": "no"}
            )
        )
    if status == "revoked":
        await ok(await c.call("POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": "approve"}))
        await ok(
            await c.call(
                "POST", f"/staff/shops/{sid}/decisions", STAFF, json={"decision": "revoke", "reason": "no"}
            )
        )
    r = await c.call("POST", "/rooms", streamer, json=room_body(sid, start_now=True))
    assert r.status_code == 403
    assert r.json()["error"]["details"] == {"shop_id": sid, "live_status": status}
    assert (await c.call("GET", "/rooms", params={"shop_id": sid})).json()["total"] == 0


async def test_a_revoked_shop_cannot_go_live_with_a_room_scheduled_before(client: Client) -> None:
    c = client
    ids = await _worlds(c)
    w = ids["world"]
    await ok(
        await c.call(
            "POST",
            f"/staff/shops/{w.shop_id}/decisions",
            STAFF,
            json={"decision": "revoke", "reason": "fake goods"},
        )
    )
    r = await c.call("POST", f"/rooms/{ids['room']}/start", w.streamer)
    assert r.status_code == 403 and r.json()["error"]["details"]["live_status"] == "revoked"
    assert (await c.call("GET", f"/rooms/{ids['room']}")).json()["state"] == "scheduled"


async def test_private_shop_details_only_to_members_and_staff(client: Client) -> None:
    c = client
    ids = await _worlds(c)
    w = ids["world"]
    public = await ok(await c.call("GET", f"/shops/{w.shop_id}"))
    assert public["contact_phone"] is None and public["business_license_no"] is None
    other = await ok(await c.call("GET", f"/shops/{w.shop_id}", ("op-b", Role.SHOP_OPERATOR)))
    assert other["contact_phone"] is None
    for actor in (w.operator, w.streamer, STAFF):
        seen = await ok(await c.call("GET", f"/shops/{w.shop_id}", actor))
        assert seen["contact_phone"] == "+86 138 0000 0000"


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer", "bearer  ", "Token abc"],
)
async def test_bad_authorization_headers_are_401(client: Client, header: str) -> None:
    r = await client.call("GET", "/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["www-authenticate"].startswith("Bearer")
    # a public endpoint also refuses a bad token rather than silently treating the caller as a guest
    assert (await client.call("GET", "/rooms", headers={"Authorization": header})).status_code == 401


async def test_expired_and_foreign_tokens_are_401(client: Client) -> None:
    import time

    import jwt

    from tests.support import TEST_SECRET

    now = int(time.time())
    claims = {"sub": "u1", "roles": ["viewer"], "iss": "yellowcart", "aud": "yellowcart", "iat": now - 3600}
    expired = jwt.encode({**claims, "exp": now - 600}, TEST_SECRET, algorithm="HS256")
    r = await client.call("GET", "/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "expired"
    foreign = jwt.encode({**claims, "exp": now + 600}, "another-secret-" + "x" * 40, algorithm="HS256")
    r = await client.call("GET", "/me", headers={"Authorization": f"Bearer {foreign}"})
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "invalid"
    wrong_audience = jwt.encode(
        {**claims, "exp": now + 600, "aud": "elsewhere"}, TEST_SECRET, algorithm="HS256"
    )
    r = await client.call("GET", "/me", headers={"Authorization": f"Bearer {wrong_audience}"})
    assert r.status_code == 401
