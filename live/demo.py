"""Demo data: a qualified shop with products, its people, a scheduled room with a cart, and tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.actions import ProductInput, SkuInput, create_product
from commerce.core.database import Database
from commerce.core.db import system_clock
from commerce.core.identity import Principal, Role
from commerce.orders.stock import StockLedger, create_stock
from commerce.shops.actions import ShopDetails, add_member, apply_for_live, decide
from commerce.shops.conditions import CONDITIONS_VERSION
from commerce.shops.models import MemberRole, Shop
from live.auth import TokenService
from live.cart.actions import add_listing
from live.ordering.actions import configure_stock
from live.rooms.actions import RoomInput, create_room
from live.rooms.models import Room
from live.settings import Settings

SHOP_NAME = "Yellowcart Demo Store"

PEOPLE: dict[str, tuple[str, list[Role]]] = {
    "streamer": ("demo-streamer", [Role.STREAMER, Role.VIEWER]),
    "shop_operator": ("demo-operator", [Role.SHOP_OPERATOR, Role.VIEWER]),
    "viewer_1": ("demo-viewer-1", [Role.VIEWER]),
    "viewer_2": ("demo-viewer-2", [Role.VIEWER]),
    "platform_staff": ("demo-staff", [Role.PLATFORM_STAFF]),
    "finance": ("demo-finance", [Role.FINANCE]),
}


def products(base: str) -> list[ProductInput]:
    """The demo's products; their pictures are served by the server itself (``base`` is its URL)."""
    return [
        ProductInput(
            title="Silk scarf, hand-rolled edges",
            category="accessories",
            currency="CNY",
            description="Mulberry silk, 90 x 90 cm.",
            images=[f"{base}/static/demo/scarf.svg"],
            skus=[
                SkuInput({"colour": "red"}, 19900, 50, "SCARF-RED"),
                SkuInput({"colour": "navy"}, 19900, 50, "SCARF-NAVY"),
            ],
        ),
        ProductInput(
            title="Cotton T-shirt",
            category="apparel",
            currency="CNY",
            images=[f"{base}/static/demo/tee.svg"],
            skus=[SkuInput({"colour": "white", "size": s}, 5900, 100, f"TEE-W-{s}") for s in ("S", "M", "L")],
        ),
        ProductInput(
            title="Green tea, spring harvest 250 g",
            category="food",
            currency="CNY",
            images=[f"{base}/static/demo/tea.svg"],
            skus=[SkuInput({}, 12800, 300, "TEA-250")],
        ),
    ]


@dataclass
class Demo:
    shop_id: int
    room_id: int
    product_ids: list[int]
    listing_ids: list[int]
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (user id, token)
    created: bool = True


def _principal(label: str) -> Principal:
    uid, roles = PEOPLE[label]
    return Principal(uid, frozenset(roles), label)


async def seed_demo(settings: Settings) -> Demo:
    """Create the demo data once; a second run finds it and only issues fresh tokens."""
    db = Database(settings.database_url)
    ledger = create_stock(settings.redis_url, db, prefix=settings.redis_prefix)
    tokens = TokenService(settings)
    try:
        async with db.transaction() as s:
            shop = await s.scalar(select(Shop).where(Shop.name == SHOP_NAME))
            if shop is not None:
                room = await s.scalar(select(Room).where(Room.shop_id == shop.id).order_by(Room.id))
                demo = Demo(shop.id, room.id if room else 0, [], [], created=False)
            else:
                demo = await _create(s, ledger, settings.base_url)
    finally:
        await ledger.close()
        await db.dispose()
    for label, (uid, roles) in PEOPLE.items():
        demo.tokens[label] = (
            uid,
            tokens.issue(uid, roles, name=label.replace("_", " "), ttl_seconds=7 * 86400),
        )
    return demo


async def _create(s: AsyncSession, ledger: StockLedger, base: str) -> Demo:
    operator, staff, streamer = (
        _principal("shop_operator"),
        _principal("platform_staff"),
        _principal("streamer"),
    )
    shop = await apply_for_live(
        s,
        operator,
        ShopDetails(
            SHOP_NAME,
            "Scarves, tees and tea, live every evening.",
            "general",
            "Li Wei",
            "+86 138 0000 0000",
            "91310000DEMO0001X",
            CONDITIONS_VERSION,
        ),
        system_clock,
    )
    await decide(s, staff, shop.id, "approve", "demo shop", system_clock)
    await add_member(s, operator, shop.id, streamer.user_id, MemberRole.STREAMER, system_clock)
    product_ids = [(await create_product(s, operator, shop.id, p, system_clock)).id for p in products(base)]
    room = await create_room(
        s,
        streamer,
        RoomInput(
            shop_id=shop.id,
            title="Evening live: silk and spring tea",
            cover_url=f"{base}/static/demo/cover.svg",
            description="Tonight's picks with live prices.",
            scheduled_at=system_clock() + timedelta(hours=1),
        ),
        system_clock,
    )
    listing_ids = []
    for pid, price in zip(product_ids, (15900, None, 9900), strict=True):
        listing_ids.append((await add_listing(s, streamer, room.id, pid, price, system_clock)).id)
    # stock allotted to the room: a listing goes on sale ("grab now") only with units left
    for lid, (stock, limit) in zip(listing_ids, ((100, 2), (500, None), (50, 1)), strict=True):
        await configure_stock(
            s,
            operator,
            room.id,
            lid,
            stock=stock,
            limit_per_user=limit,
            starts_at=None,
            clock=system_clock,
            ledger=ledger,
        )
    return Demo(shop.id, room.id, product_ids, listing_ids)


def print_demo(demo: Demo, settings: Settings, *, as_json: bool = False) -> None:
    base = settings.base_url
    if as_json:
        print(
            json.dumps(
                {
                    "base_url": base,
                    "shop_id": demo.shop_id,
                    "room_id": demo.room_id,
                    "tokens": {k: {"user_id": u, "token": t} for k, (u, t) in demo.tokens.items()},
                }
            )
        )
        return
    print(("Created" if demo.created else "Found") + f" demo shop {demo.shop_id} with room {demo.room_id}.")
    print(f"  Open:      {base}/   (the landing page; the demo accounts sign in with one click)")
    print(f"  Watch:     {base}/live/{demo.room_id}   Studio: {base}/studio")
    print(f"  Consoles:  {base}/shop   {base}/staff")
    print(f"  API docs:  {base}/docs")
    print(f"  OpenAPI:   {base}/openapi.json")
    print(f"  Room:      {base}/rooms/{demo.room_id}")
    print(f"  Cart:      {base}/rooms/{demo.room_id}/cart")
    print(f"  Health:    {base}/healthz   Ready: {base}/readyz   Metrics: {base}/metrics")
    print(f"  Video:     .venv/bin/yellowcart test-stream {demo.room_id} --user demo-streamer")
    print("Tokens (send as 'Authorization: Bearer <token>', valid 7 days):")
    for label, (uid, token) in demo.tokens.items():
        print(f"  {label:15} {uid:15} {token}")
