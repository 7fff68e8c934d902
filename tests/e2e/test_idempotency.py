"""Retried writes with an Idempotency-Key get the first answer and have no second effect."""

from __future__ import annotations

import asyncio

from tests.e2e.world import STAFF, ok, product_body, qualified_shop, room_body, scheduled_room
from tests.support import Client


async def test_a_retried_create_returns_the_first_answer(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    key = {"Idempotency-Key": "create-scarf-1"}
    first = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body(), headers=key)
    second = await c.call(
        "POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body(), headers=key
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    listing = (await c.call("GET", f"/shops/{w.shop_id}/products")).json()
    assert listing["total"] == 1


async def test_same_key_with_another_request_is_refused(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    key = {"Idempotency-Key": "k-2"}
    await ok(
        await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body(), headers=key),
        201,
    )
    r = await c.call(
        "POST", f"/shops/{w.shop_id}/products", w.operator, json=product_body("Other"), headers=key
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_mismatch"
    assert (await c.call("GET", f"/shops/{w.shop_id}/products")).json()["total"] == 1
    # keys belong to their user: another operator may use the same string
    other = await qualified_shop(c, "b", products=0)
    await ok(
        await c.call(
            "POST", f"/shops/{other.shop_id}/products", other.operator, json=product_body(), headers=key
        ),
        201,
    )


async def test_a_refusal_is_replayed_too(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w)
    key = {"Idempotency-Key": "start-1"}
    r1 = await c.call("POST", f"/rooms/{room['id']}/end", w.streamer, headers=key)
    await ok(await c.call("POST", f"/rooms/{room['id']}/start", w.streamer))
    r2 = await c.call("POST", f"/rooms/{room['id']}/end", w.streamer, headers=key)
    assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()
    assert (await c.call("GET", f"/rooms/{room['id']}")).json()["state"] == "live"


async def test_concurrent_twins_create_one_room(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    key = {"Idempotency-Key": "room-twins"}
    answers = await asyncio.gather(
        *[c.call("POST", "/rooms", w.streamer, json=room_body(w.shop_id), headers=key) for _ in range(5)]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
    for a in answers:
        if a.status_code == 409:
            assert a.json()["error"]["code"] == "idempotency_in_progress"
    assert (await c.call("GET", "/rooms", STAFF)).json()["total"] == 1
    again = await c.call("POST", "/rooms", w.streamer, json=room_body(w.shop_id), headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


async def test_bad_keys_are_refused(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    r = await c.call(
        "POST",
        f"/shops/{w.shop_id}/products",
        w.operator,
        json=product_body(),
        headers={"Idempotency-Key": "has spaces"},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["in"] == "header"
    assert (await c.call("GET", f"/shops/{w.shop_id}/products")).json()["total"] == 0
