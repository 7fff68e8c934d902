"""The HTTP contract itself: 405 with Allow on every path, optional bodies, integers written 2.0, a room's
cover, and a document whose references all resolve. (schemathesis checks the rest: test_openapi_fuzz.py.)"""

from __future__ import annotations

import json
import re
from typing import Any

from commerce.core.money import MAX_MINOR
from live.payment_factory import SANDBOX_MOUNT
from tests.e2e.world import ok, product_body, qualified_shop, scheduled_room
from tests.support import Client

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: "2026-11-20" if m.group(1) == "day" else "1", path)


async def test_every_path_answers_an_unsupported_method_with_405_and_allow(client: Client) -> None:
    doc = (await client.call("GET", "/openapi.json")).json()
    for path, ops in doc["paths"].items():
        documented = {m.upper() for m in ops}
        for method in ["TRACE", *sorted(METHODS - documented)]:
            r = await client.call(method, _concrete(path))
            assert r.status_code == 405, (method, path, r.status_code)
            allowed = {m.strip() for m in r.headers["allow"].split(",")}
            assert allowed - {"HEAD"} == documented, (path, r.headers["allow"])
            assert r.json()["error"]["code"] == "method_not_allowed"
    # the in-process sandbox bank's mount says it too
    r = await client.call("GET", f"{SANDBOX_MOUNT}/v1/payments")
    assert (r.status_code, r.headers["allow"]) == (405, "POST")


async def test_the_document_references_only_what_it_defines(client: Client) -> None:
    doc = (await client.call("GET", "/openapi.json")).json()
    text = json.dumps(doc)
    refs = set(re.findall(r'"\$ref": "([^"]+)"', text))
    assert refs and all(r.startswith("#/components/schemas/") for r in refs)
    assert {r.rsplit("/", 1)[1] for r in refs} <= set(doc["components"]["schemas"])
    # a body whose fields are all optional is documented as optional, the others as required
    bodies = {
        (m.upper(), p): op["requestBody"]["required"]
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]
    }
    assert bodies[("POST", "/rooms/{room_id}/cancel")] is False
    assert bodies[("PATCH", "/rooms/{room_id}")] is False
    assert bodies[("POST", "/rooms")] is True


async def test_an_all_optional_body_may_be_absent_empty_or_an_empty_object(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    for body in (None, b"", b"{}", b"  "):
        room = await scheduled_room(c, w, listings=False)
        kwargs: dict[str, Any] = {} if body is None else {"content": body}
        r = await c.call("POST", f"/rooms/{room['id']}/cancel", w.streamer, **kwargs)
        assert (await ok(r))["state"] == "cancelled", body
    room = await scheduled_room(c, w, listings=False)
    headers = {"Content-Type": "text/plain"}
    r = await c.call("POST", f"/rooms/{room['id']}/cancel", w.streamer, content=b"x", headers=headers)
    assert r.status_code == 415
    r = await c.call("POST", f"/rooms/{room['id']}/cancel", w.streamer, content=b"{")
    assert r.status_code == 400
    # a required body is still required
    r = await c.call("POST", "/rooms", w.streamer)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")


async def test_integers_written_with_a_zero_fraction_are_integers(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=1)
    room = await scheduled_room(c, w)
    path = f"/rooms/{room['id']}/listings/{room['listing_ids'][0]}/price"
    listing = await ok(await c.call("PUT", path, w.streamer, content=b'{"live_price_minor": 990.0}'))
    assert listing["live_price_minor"] == 990
    listing = await ok(await c.call("PUT", path, w.streamer, content=b'{"live_price_minor": 9.9e2}'))
    assert listing["live_price_minor"] == 990
    for bad in (
        b'{"live_price_minor": 990.5}',
        b'{"live_price_minor": "990"}',
        b'{"live_price_minor": 1e400}',
    ):
        r = await c.call("PUT", path, w.streamer, content=bad)
        assert r.status_code in (400, 422), bad
        assert r.status_code == 422 or r.json()["error"]["code"] == "malformed_json"


async def test_a_room_without_a_cover_reads_null_and_an_empty_cover_clears_it(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    room = await scheduled_room(c, w, listings=False)
    assert room["cover_url"] == "https://img.example.com/c.jpg"
    path = f"/rooms/{room['id']}"
    assert (await ok(await c.call("PATCH", path, w.streamer, json={"title": "Later"})))[
        "cover_url"
    ] is not None
    assert (await ok(await c.call("PATCH", path, w.streamer, json={"cover_url": ""})))["cover_url"] is None
    assert (await ok(await c.call("GET", path)))["cover_url"] is None
    r = await c.call("PATCH", path, w.streamer, json={"cover_url": " "})
    assert r.status_code == 422
    again = await ok(
        await c.call("PATCH", path, w.streamer, json={"cover_url": "https://img.example.com/d.jpg"})
    )
    assert again["cover_url"] == "https://img.example.com/d.jpg"


async def test_prices_up_to_the_documented_cap_are_stored_on_every_database(client: Client) -> None:
    """The document caps amounts at MAX_MINOR; the database must hold that much (it once answered 500
    above 2**31-1 fen on PostgreSQL: schemathesis found it)."""
    c = client
    w = await qualified_shop(c, products=0)
    top = MAX_MINOR
    body = product_body(
        "Gold bar",
        skus=[{"attributes": {"weight": "1kg"}, "price_minor": top, "stock": 1, "code": "G"}],
    )
    product = await ok(await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=body), 201)
    assert product["skus"][0]["price_minor"] == top
    again = await ok(await c.call("GET", f"/products/{product['id']}"))
    assert again["skus"][0]["price_minor"] == top
    over = product_body("Too dear", skus=[{"attributes": {}, "price_minor": top + 1, "stock": 1}])
    r = await c.call("POST", f"/shops/{w.shop_id}/products", w.operator, json=over)
    assert r.status_code == 422
