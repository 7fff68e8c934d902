"""The cart tells the truth about stock, through the HTTP API and the room channel, on the embedded
default (SQLite, counters in the database) and on PostgreSQL + Redis (counters in Redis): "grab now"
needs units left in the room, a sold-out listing comes back on sale only with units, and the cart and
the snapshot show the units the room has left."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from commerce.core.identity import Role
from tests.e2e.buying import _buy, _sale
from tests.e2e.channel import Viewer, serve
from tests.e2e.world import STAFF, allot, ok, qualified_shop, scheduled_room
from tests.support import Client


async def _status(c: Client, who: Any, rid: int, lid: int, status: str, **extra: Any) -> Any:
    return await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", who, json={"status": status, **extra})


async def _line(c: Client, rid: int, lid: int) -> dict[str, Any]:
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    return next(x for x in cart["listings"] if x["id"] == lid)


async def _history(c: Client, rid: int, lid: int) -> list[tuple[Any, ...]]:
    items = (await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/history", STAFF)))["items"]
    return [(h["from_state"], h["to_state"], h["actor_id"], h["reason"]) for h in items]


async def test_grab_now_needs_units_allotted_to_the_room(shop: Client) -> None:
    c = shop
    w = await qualified_shop(c, products=1)
    room = await scheduled_room(c, w)
    rid, lid = room["id"], room["listing_ids"][0]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    before = await _history(c, rid, lid)
    # no allotment at all, then an allotment of none: refused, nothing changes
    for stock in (None, 0):
        if stock is not None:
            await allot(c, w, rid, lid, stock)
        r = await _status(c, w.streamer, rid, lid, "on_sale")
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "no_stock_left"
        assert err["details"] == {
            "listing_id": lid,
            "from": "pending",
            "to": "on_sale",
            "units_left": 0,
            "allowed": ["off"],
        }
        line = await _line(c, rid, lid)
        assert (line["status"], line["units_left"]) == ("pending", 0)
        assert await _history(c, rid, lid) == before
    # stock goes only with the move to on_sale, and must be a positive count
    for status, extra in (
        ("off", {"add_stock": 3}),
        ("on_sale", {"add_stock": 0}),
        ("on_sale", {"add_stock": "3"}),
    ):
        r = await _status(c, w.streamer, rid, lid, status, **extra)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
    r = await _status(c, w.streamer, rid, lid, "on_sale", add_stock=10_000_001)
    assert r.status_code == 422
    # with units, the move goes through
    await allot(c, w, rid, lid, 2)
    moved = await ok(await _status(c, w.streamer, rid, lid, "on_sale"))
    assert (moved["status"], moved["units_left"]) == ("on_sale", 2)
    sku = moved["skus"][0]["id"]
    await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    assert (await _line(c, rid, lid))["units_left"] == 1


async def test_a_sold_out_listing_goes_back_on_sale_only_with_units_added_in_the_same_move(
    shop: Client,
) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=1, limit=1)
    await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    line = await _line(c, rid, lid)
    assert (line["status"], line["units_left"]) == ("sold_out", 0)
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        assert next(x for x in v.snapshot["cart"] if x["id"] == lid)["units_left"] == 0
        before = await _history(c, rid, lid)
        r = await _status(c, w.streamer, rid, lid, "on_sale")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "no_stock_left"
        assert r.json()["error"]["details"]["allowed"] == ["off"]
        assert r.json()["error"]["details"]["units_left"] == 0
        assert await _history(c, rid, lid) == before
        # the same move with stock added: the allotment grows and the listing is on sale again
        back = await ok(await _status(c, w.streamer, rid, lid, "on_sale", add_stock=2))
        assert (back["status"], back["units_left"]) == ("on_sale", 2)
        stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
        assert (stock["stock"], stock["sold"], stock["units_left"], stock["on_sale"]) == (3, 1, 2, True)
        assert (stock["limit_per_user"]) == 1  # the rest of the allotment is kept
        assert (await _history(c, rid, lid))[-1] == ("sold_out", "on_sale", w.streamer[0], "2 units added")
        # viewers hear of the stock, then of the move
        await v.until(lambda v: any(e.get("status") == "on_sale" for e in v.state))
        assert [(e["kind"], e.get("units_left"), e.get("stock")) for e in v.state] == [
            ("listing.stock", 2, 3),
            ("listing.status", None, None),
        ]
    # the units sell and the listing sells out by itself again
    await ok(await _buy(c, rid, lid, "u2", "k2", sku), 201)
    await ok(await _buy(c, rid, lid, "u3", "k3", sku), 201)
    r = await _buy(c, rid, lid, "u4", "k4", sku)
    assert r.status_code == 409 and r.json()["error"]["code"] == "sold_out"
    assert (await _line(c, rid, lid))["status"] == "sold_out"
    # a refused move with stock changes nothing either (the listing is not in the move's table)
    r = await _status(c, w.streamer, rid, lid, "off")
    await ok(r)
    r = await _status(c, w.streamer, rid, lid, "pending")
    await ok(r)
    r = await _status(c, w.streamer, rid, lid, "sold_out")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    stock = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock"))
    assert (stock["stock"], stock["units_left"]) == (3, 0)


async def test_marked_sold_out_with_units_left_it_may_go_back_on_sale(shop: Client) -> None:
    c = shop
    w, rid, lid, _sku = await _sale(c, stock=4, limit=None)
    await ok(await _status(c, w.streamer, rid, lid, "sold_out"))
    back = await ok(await _status(c, w.streamer, rid, lid, "on_sale"))
    assert (back["status"], back["units_left"]) == ("on_sale", 4)


async def test_stock_set_to_what_is_sold_turns_a_listing_on_sale_sold_out(shop: Client) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=3, limit=None)
    order = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    stock = await allot(c, w, rid, lid, 1)
    assert (stock["stock"], stock["sold"], stock["units_left"], stock["on_sale"]) == (1, 1, 0, False)
    line = await _line(c, rid, lid)
    assert (line["status"], line["units_left"]) == ("sold_out", 0)
    assert (await _history(c, rid, lid))[-1] == ("on_sale", "sold_out", "system", "stock")
    r = await _buy(c, rid, lid, "u2", "k2", sku)
    assert r.status_code == 409 and r.json()["error"]["code"] in ("sold_out", "not_on_sale")
    # it sold out by itself: a unit that comes back reopens it
    await ok(await c.call("POST", f"/orders/{order['id']}/cancel", ("u1", Role.VIEWER), json={}))
    line = await _line(c, rid, lid)
    assert (line["status"], line["units_left"]) == ("on_sale", 1)


async def test_the_cart_and_the_snapshot_show_the_units_the_room_has_left(shop: Client) -> None:
    c = shop
    w = await qualified_shop(c, products=3)
    room = await scheduled_room(c, w)
    rid, lids = room["id"], room["listing_ids"]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    await allot(c, w, rid, lids[0], 5)
    await allot(c, w, rid, lids[1], 2, limit_per_user=2)  # lids[2] has no allotment
    for lid in lids[:2]:
        await ok(await _status(c, w.streamer, rid, lid, "on_sale"))
    line = await _line(c, rid, lids[0])
    sku = line["skus"][0]["id"]
    await ok(await _buy(c, rid, lids[0], "u1", "k1", sku, qty=3), 201)
    sku1 = (await _line(c, rid, lids[1]))["skus"][0]["id"]
    await ok(await _buy(c, rid, lids[1], "u1", "k2", sku1, qty=2), 201)
    expected = {lids[0]: ("on_sale", 2), lids[1]: ("sold_out", 0), lids[2]: ("pending", 0)}
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert {x["id"]: (x["status"], x["units_left"]) for x in cart["listings"]} == expected
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        assert {x["id"]: (x["status"], x["units_left"]) for x in v.snapshot["cart"]} == expected
    # one listing, as the status move answers it, says the same
    off = await ok(await _status(c, w.streamer, rid, lids[0], "off"))
    assert (off["status"], off["units_left"]) == ("off", 2)


async def test_just_bought_notices_carry_the_units_their_listings_have_left(shop: Client) -> None:
    c = shop
    w = await qualified_shop(c, products=2)
    room = await scheduled_room(c, w)
    rid, lids = room["id"], room["listing_ids"]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    await allot(c, w, rid, lids[0], 5)
    await ok(await _status(c, w.streamer, rid, lids[0], "on_sale"))
    sku = (await _line(c, rid, lids[0]))["skus"][0]["id"]
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        await ok(await _buy(c, rid, lids[0], "u1", "k1", sku, qty=2), 201)
        await v.until(lambda _: any(b.get("units_left", {}).get(str(lids[0])) == 3 for b in v.bought))
        await ok(await _buy(c, rid, lids[0], "u2", "k2", sku, qty=3), 201)
        await v.until(lambda _: any(b.get("units_left", {}).get(str(lids[0])) == 0 for b in v.bought))
    assert all(set(b.get("units_left", {})) <= {str(lids[0])} for b in v.bought)  # only what was bought


async def test_with_the_stock_ledger_unreachable_the_orders_say_what_is_left(
    shop: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=3, limit=None)
    await ok(await _buy(c, rid, lid, "u1", "k1", sku, qty=2), 201)
    await ok(await _status(c, w.streamer, rid, lid, "off"))

    async def unreachable(*args: Any, **kwargs: Any) -> dict[int, int]:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(c.services.orders.stock, "sold", unreachable)
    assert (await _line(c, rid, lid))["units_left"] == 1
    back = await ok(await _status(c, w.streamer, rid, lid, "on_sale"))
    assert (back["status"], back["units_left"]) == ("on_sale", 1)


async def test_the_cart_and_the_snapshot_show_each_listings_stock_limit_and_start(shop: Client) -> None:
    """A viewer who joins late sees the countdown and the per-buyer limit without asking for the stock."""
    c = shop
    w = await qualified_shop(c, products=2)
    room = await scheduled_room(c, w)
    rid, lids = room["id"], room["listing_ids"]
    starts = (c.services.clock() + timedelta(minutes=5)).replace(microsecond=0)
    await allot(c, w, rid, lids[0], 7, limit_per_user=2, starts_at=starts.isoformat())  # lids[1]: none
    expected = {
        lids[0]: (7, 2, starts),
        lids[1]: (0, None, None),
    }

    def seen(listings: list[dict[str, Any]]) -> dict[int, tuple[Any, ...]]:
        return {
            x["id"]: (
                x["stock"],
                x["limit_per_user"],
                datetime.fromisoformat(x["starts_at"]) if x["starts_at"] else None,
            )
            for x in listings
        }

    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert seen(cart["listings"]) == expected
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        assert seen(v.snapshot["cart"]) == expected
