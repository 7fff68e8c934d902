"""Build a small world through the HTTP API: a qualified shop, its people, products, a room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commerce.core.identity import Role
from commerce.shops.conditions import CONDITIONS_VERSION
from tests.support import Client

STAFF = ("staff-1", Role.PLATFORM_STAFF)
FINANCE = ("finance-1", Role.FINANCE)
VIEWER = ("viewer-1", Role.VIEWER)


def application(name: str = "Acme Live", **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "description": "We sell things live.",
        "category": "apparel",
        "contact_name": "Li Wei",
        "contact_phone": "+86 138 0000 0000",
        "business_license_no": "91310000ACME0001",
        "accepted_conditions_version": CONDITIONS_VERSION,
    }
    body.update(extra)
    return body


def product_body(title: str = "Silk scarf", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "category": "accessories",
        "currency": "CNY",
        "images": ["https://img.example.com/a.jpg"],
        "skus": [
            {"attributes": {"colour": "red"}, "price_minor": 19900, "stock": 10, "code": "R"},
            {"attributes": {"colour": "blue"}, "price_minor": 18900, "stock": 5, "code": "B"},
        ],
    }
    body.update(extra)
    return body


@dataclass
class ShopWorld:
    shop_id: int
    operator: tuple[Any, ...]
    streamer: tuple[Any, ...]
    product_ids: list[int] = field(default_factory=list)


async def ok(resp: Any, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, f"{resp.status_code} {resp.text}"
    return resp.json() if resp.content else {}


async def qualified_shop(c: Client, tag: str = "a", products: int = 2) -> ShopWorld:
    operator = (f"op-{tag}", Role.SHOP_OPERATOR)
    streamer = (f"st-{tag}", Role.STREAMER)
    shop = await ok(await c.call("POST", "/shops", operator, json=application(f"Shop {tag}")), 201)
    await ok(
        await c.call("POST", f"/staff/shops/{shop['id']}/decisions", STAFF, json={"decision": "approve"})
    )
    await ok(
        await c.call(
            "POST",
            f"/shops/{shop['id']}/members",
            operator,
            json={"user_id": streamer[0], "role": "streamer"},
        ),
        201,
    )
    world = ShopWorld(shop["id"], operator, streamer)
    for i in range(products):
        p = await ok(
            await c.call(
                "POST", f"/shops/{shop['id']}/products", operator, json=product_body(f"Product {tag}{i}")
            ),
            201,
        )
        world.product_ids.append(p["id"])
    return world


def room_body(
    shop_id: int, *, start_now: bool = False, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shop_id": shop_id,
        "title": "Evening live",
        "cover_url": "https://img.example.com/c.jpg",
    }
    if start_now:
        body["start_now"] = True
    else:
        body["scheduled_at"] = (at or datetime.fromisoformat("2026-11-24T14:00:00+00:00")).isoformat()
    body.update(extra)
    return body


async def allot(
    c: Client, w: ShopWorld, room_id: int, listing_id: int, stock: int, **extra: Any
) -> dict[str, Any]:
    """Allot ``stock`` units of a listing to the room (a listing goes on sale only with units left)."""
    return await ok(
        await c.call(
            "PUT", f"/rooms/{room_id}/listings/{listing_id}/stock", w.operator, json={"stock": stock, **extra}
        )
    )


async def scheduled_room(
    c: Client, w: ShopWorld, *, listings: bool = True, stock: int | None = None
) -> dict[str, Any]:
    """A scheduled room with a listing per product; ``stock``: units allotted to each listing."""
    when = c.services.clock() + timedelta(hours=2)
    room = await ok(await c.call("POST", "/rooms", w.streamer, json=room_body(w.shop_id, at=when)), 201)
    if listings:
        room["listing_ids"] = []
        for pid in w.product_ids:
            lst = await ok(
                await c.call("POST", f"/rooms/{room['id']}/listings", w.streamer, json={"product_id": pid}),
                201,
            )
            room["listing_ids"].append(lst["id"])
            if stock is not None:
                await allot(c, w, room["id"], lst["id"], stock)
    return room


async def live_room(c: Client, w: ShopWorld) -> dict[str, Any]:
    room = await scheduled_room(c, w)
    await ok(await c.call("POST", f"/rooms/{room['id']}/start", w.streamer))
    return room
