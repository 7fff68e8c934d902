"""Bad input answers 4xx with the JSON error body naming the problem, and nothing is half-written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.world import STAFF, ShopWorld, product_body, qualified_shop, room_body, scheduled_room
from tests.support import Client

JSON = {"content-type": "application/json"}


async def _counts(c: Client, w: ShopWorld, room_id: int | None = None) -> dict[str, Any]:
    products = (
        await c.call("GET", f"/shops/{w.shop_id}/products", params={"include_archived": "true"})
    ).json()
    rooms = (await c.call("GET", "/rooms")).json()
    out: dict[str, Any] = {
        "products": products["total"],
        "rooms": rooms["total"],
        "audit": (await c.call("GET", "/staff/audit-log", STAFF)).json()["total"],
    }
    if room_id is not None:
        out["cart"] = (await c.call("GET", f"/rooms/{room_id}/cart")).json()
        out["room"] = (await c.call("GET", f"/rooms/{room_id}")).json()
    return out


def _err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return dict(body["error"])


def _fields(err: dict[str, Any]) -> set[str]:
    return {e["field"] for e in err["details"]["errors"]}


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{'title': 'x'}", b'{"title": "x",}', b"\xff\xfe", b"null null", b""],
    ids=["truncated", "single-quotes", "trailing-comma", "not-utf8", "two-values", "empty"],
)
async def test_malformed_json_is_400(client: Client, raw: bytes) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, content=raw, headers=JSON)
    _err(r, 400, "malformed_json")
    assert await _counts(c, w) == before


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": 5}, "title"),
        ({"title": True}, "title"),
        ({"skus": [{"attributes": {}, "price_minor": "100", "stock": 1}]}, "skus.0.price_minor"),
        ({"skus": [{"attributes": {}, "price_minor": 1.5, "stock": 1}]}, "skus.0.price_minor"),
        ({"skus": [{"attributes": {}, "price_minor": -1, "stock": 1}]}, "skus.0.price_minor"),
        ({"skus": [{"attributes": {}, "price_minor": 100, "stock": -3}]}, "skus.0.stock"),
        (
            {"skus": [{"attributes": {"colour": 3}, "price_minor": 100, "stock": 1}]},
            "skus.0.attributes.colour",
        ),
        ({"skus": []}, "skus"),
        ({"title": "x" * 121}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "bad\u0000title"}, "title"),
        ({"title": "line\nbreak"}, "title"),
        ({"description": "d" * 5001}, "description"),
        ({"images": ["https://img.example.com/a.jpg"] * 10}, "images"),
        ({"images": ["ftp://img.example.com/a.jpg"]}, "images.0"),
        ({"currency": "cny"}, "currency"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"skus": [{"attributes": {}, "price_minor": 1, "stock": 1}] * 101}, "skus"),
    ],
)
async def test_invalid_product_fields_are_422_and_write_nothing(
    client: Client, patch: dict[str, Any], field: str
) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json={**product_body(), **patch})
    err = _err(r, 422, "validation_error")
    assert field in _fields(err), err
    assert field in err["message"]
    assert await _counts(c, w) == before


async def test_business_rule_errors_are_refused_and_write_nothing(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body(currency="XYZ"))
    assert _err(r, 422, "invalid_input")["details"]["field"] == "currency"
    dup = [{"attributes": {"colour": "red"}, "price_minor": 1, "stock": 1}] * 2
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body(skus=dup))
    assert _err(r, 409, "conflict")["details"]["field"] == "skus[1].attributes"  # SKUs must differ
    assert await _counts(c, w) == before


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"shop_id": "1"}, "shop_id"),
        ({"shop_id": 0}, "shop_id"),
        ({"title": ""}, "title"),
        ({"title": "t" * 101}, "title"),
        ({"cover_url": "javascript:alert(1)"}, "cover_url"),
        ({"cover_url": "https://x/" + "a" * 500}, "cover_url"),
        ({"scheduled_at": "2026-13-01T00:00:00Z"}, "scheduled_at"),
        ({"scheduled_at": "2026-12-01T00:00:00"}, "scheduled_at"),  # naive: no time zone
        ({"start_now": "yes"}, "start_now"),
        ({"streamer_id": "has space"}, "streamer_id"),
    ],
)
async def test_invalid_room_fields_are_422(client: Client, patch: dict[str, Any], field: str) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    r = await c.call("POST", "/rooms", w.streamer, json={**room_body(w.shop_id), **patch})
    assert field in _fields(_err(r, 422, "validation_error"))
    assert await _counts(c, w) == before


async def test_room_schedule_rules(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    now: datetime = c.services.clock()
    cases: list[tuple[datetime | None, dict[str, Any]]] = [
        (now - timedelta(minutes=1), {}),
        (now + timedelta(days=91), {}),
        (None, {"start_now": True, "scheduled_at": (now + timedelta(hours=1)).isoformat()}),
        (None, {"scheduled_at": None}),
    ]
    for when, body in cases:
        payload = room_body(w.shop_id, at=when) if when else {**room_body(w.shop_id), **body}
        r = await c.call("POST", "/rooms", w.streamer, json=payload)
        # a time that does not fit the clock conflicts (409); start_now and scheduled_at together, or
        # neither, break the documented rule (anyOf in the OpenAPI document): 422
        status, code = (409, "conflict") if when else (422, "invalid_input")
        assert _err(r, status, code)["details"]["field"] == "scheduled_at"
    assert await _counts(c, w) == before


async def test_cart_input_errors_leave_the_cart_unchanged(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=2)
    other = await qualified_shop(c, "b", products=1)
    room = await scheduled_room(c, w)
    rid, lids = room["id"], room["listing_ids"]
    before = await _counts(c, w, rid)
    cases: list[tuple[str, str, Any, int, str]] = [
        (
            "POST",
            f"/rooms/{rid}/listings",
            {"product_id": w.product_ids[0]},
            409,
            "conflict",
        ),  # already pinned
        ("POST", f"/rooms/{rid}/listings", {"product_id": other.product_ids[0]}, 409, "conflict"),
        ("POST", f"/rooms/{rid}/listings", {"product_id": 999999}, 404, "not_found"),
        (
            "POST",
            f"/rooms/{rid}/listings",
            {"product_id": w.product_ids[0], "live_price_minor": -5},
            422,
            "validation_error",
        ),
        ("POST", f"/rooms/{rid}/listings/{lids[0]}/status", {"status": "grab_now"}, 422, "validation_error"),
        ("PUT", f"/rooms/{rid}/cart/order", {"listing_ids": [lids[0]]}, 409, "conflict"),
        (
            "PUT",
            f"/rooms/{rid}/cart/order",
            {"listing_ids": [lids[0], lids[0], lids[1]]},
            409,
            "conflict",
        ),
        ("PUT", f"/rooms/{rid}/cart/order", {"listing_ids": [*lids, 999]}, 409, "conflict"),
        (
            "PUT",
            f"/rooms/{rid}/listings/{lids[0]}/price",
            {"live_price_minor": 10**13},
            422,
            "validation_error",
        ),
        ("PUT", f"/rooms/{rid}/listings/{lids[0]}/price", {}, 422, "validation_error"),
        ("DELETE", f"/rooms/{rid}/listings/999999", None, 404, "not_found"),
        ("POST", f"/rooms/{rid}/listings/999999/status", {"status": "off"}, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        r = await c.call(method, path, w.streamer, json=body)
        _err(r, status, code)
    assert await _counts(c, w, rid) == before


@pytest.mark.parametrize(
    "path",
    [
        "/rooms/999999",
        "/rooms/999999/cart",
        "/shops/999999",
        "/products/999999",
        "/shops/999999/products",
        "/rooms/99999999999999999999",
        "/rooms/9223372036854775808",
        "/rooms/-1",
        "/rooms/abc",
        "/no/such/route",
    ],
)
async def test_unknown_ids_and_routes_are_404_json(client: Client, path: str) -> None:
    r = await client.call("GET", path)
    _err(r, 404, "not_found")


async def test_unknown_ids_on_writes_are_404(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=1)
    for method, path, body in [
        ("POST", "/rooms/424242/start", None),
        ("POST", "/staff/rooms/424242/force-end", {"reason": "x"}),
        ("POST", "/staff/shops/424242/decisions", {"decision": "approve"}),
        ("PATCH", "/products/424242", {"title": "x"}),
        ("PATCH", f"/products/{w.product_ids[0]}/skus/424242", {"stock": 1}),
        ("POST", "/rooms", room_body(424242)),
    ]:
        actor = STAFF if path.startswith("/staff") else w.operator if "products" in path else w.streamer
        _err(await c.call(method, path, actor, json=body), 404, "not_found")


async def test_wrong_method_is_405_json(client: Client) -> None:
    _err(await client.call("DELETE", "/rooms"), 405, "method_not_allowed")


async def test_body_size_and_content_type(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    before = await _counts(c, w)
    huge = json.dumps(product_body(description="x" * 70_000)).encode()
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, content=huge, headers=JSON)
    assert _err(r, 413, "body_too_large")["details"]["limit"] == 65536
    r = await c.call(
        "POST",
        f"/shops/{w.shop_id}/products",
        w.operator,
        content=json.dumps(product_body()).encode(),
        headers={"content-type": "text/plain"},
    )
    _err(r, 415, "unsupported_media_type")
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=[product_body()])
    _err(r, 422, "validation_error")
    assert await _counts(c, w) == before


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"state": "bogus"},
        {"shop_id": "0"},
    ],
)
async def test_bad_query_parameters_are_422(client: Client, query: dict[str, str]) -> None:
    err = _err(await client.call("GET", "/rooms", params=query), 422, "validation_error")
    assert err["details"]["in"] == "query" and {f.split(".")[0] for f in _fields(err)} == set(query)


async def test_duplicate_shop_name_and_member(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    from tests.e2e.world import application

    r = await c.call(
        "POST", "/shops", ("op-z", w.operator[1]), json=application("shop A")
    )  # case-insensitive
    assert _err(r, 409, "conflict")["details"]["field"] == "name"
    r = await c.call(
        "POST", f"/shops/{w.shop_id}/members", w.operator, json={"user_id": w.streamer[0], "role": "streamer"}
    )
    _err(r, 409, "conflict")
    r = await c.call(
        "POST",
        "/shops",
        ("op-z", w.operator[1]),
        json=application("Old terms", accepted_conditions_version="2020"),
    )
    assert _err(r, 409, "conflict")["details"]["field"] == "accepted_conditions_version"  # stale version
