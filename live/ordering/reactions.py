"""What follows buying, as consumers of committed events (``live.reactions``): the listing flips that
stock causes, the stock ledger learning a sale's configuration, and the "just bought" notices.

Each is idempotent, so a rerun after a crash is harmless:
- stock flips derive what to do from the orders as they are now (no unit left: sold out; units back
  after a sold-out flip of ours: on sale), not from what an event said;
- the ledger mirror copies the sale's configuration as the database has it now;
- a notice published twice (a crash after publishing, before the progress moved) shows twice; one is
  never lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from commerce.orders.actions import ORDER_MOVED, ORDERS_PLACED, units_left
from live.cart.models import Listing
from live.container import Services
from live.events import Event
from live.ordering import actions
from live.reactions import Consumer
from live.rooms.transitions import FINAL

STOCK_FLIPS = "stock-flips"
LEDGER_MIRROR = "ledger-mirror"
BOUGHT_NOTICES = "bought-notices"
# what an action that changes stock waits for before it answers (the caller reads its own writes)
STOCK_REACTIONS = (STOCK_FLIPS, LEDGER_MIRROR)


def consumers(services: Services) -> list[Consumer]:
    async def stock_flips(events: Sequence[Event]) -> None:
        sales: dict[int, int] = {}  # sale -> room, in the order first seen
        for ev in events:
            p = ev.payload
            if p.get("room_id") is None:
                continue
            if ev.kind == ORDERS_PLACED or (ev.kind == ORDER_MOVED and p.get("releases_stock")):
                sales.setdefault(int(p["sale_id"]), int(p["room_id"]))
        for sale_id, room_id in sales.items():
            async with services.db.transaction() as s:
                flipped = await actions.follow_stock(s, room_id, sale_id, services.clock)
            if flipped:
                services.sale_cache.forget(room_id)

    async def ledger_mirror(events: Sequence[Event]) -> None:
        sales: set[int] = set()
        rooms: set[int] = set()
        ended: set[int] = set()
        for ev in events:
            p = ev.payload
            rooms.add(int(p["room_id"]))
            if ev.kind == "room.state":
                if p.get("state") in FINAL:  # the room's sales were closed with it
                    ended.add(int(p["room_id"]))
            elif p.get("listing_id") is not None:
                sales.add(int(p["listing_id"]))
        if ended:
            async with services.db.read() as s:
                sales.update(await s.scalars(select(Listing.id).where(Listing.room_id.in_(ended))))
        for sale_id in sorted(sales):
            await services.orders.mirror(sale_id, strict=True)
        for room_id in rooms:  # this process's cached sale facts (others drop theirs on state events)
            services.sale_cache.forget(room_id)

    async def bought_notices(events: Sequence[Event]) -> None:
        per_room: dict[int, list[tuple[str, str]]] = {}
        sales: dict[int, set[int]] = {}
        for ev in events:
            room_id = ev.payload.get("room_id")
            if room_id is None:
                continue
            per_room.setdefault(int(room_id), []).extend(
                (str(o["buyer"]), str(o["title"])) for o in ev.payload.get("orders", [])
            )
            if ev.payload.get("sale_id") is not None:
                sales.setdefault(int(room_id), set()).add(int(ev.payload["sale_id"]))
        # the units each listing has left, read once for the batch, ride on the notice: every viewer's
        # cart shows them without reading the cart again (purchases change them without a state event)
        left: dict[int, int] = {}
        if sales:
            async with services.db.read() as s:
                left = await units_left(s, services.orders.stock, sorted(set().union(*sales.values())))
        for room_id, bought in per_room.items():
            units = {sid: left[sid] for sid in sorted(sales.get(room_id, ())) if sid in left}
            await services.hub.announce_bought(room_id, bought, units)

    return [
        Consumer(STOCK_FLIPS, frozenset({ORDERS_PLACED, ORDER_MOVED}), stock_flips),
        Consumer(LEDGER_MIRROR, frozenset({"listing.status", "listing.stock", "room.state"}), ledger_mirror),
        Consumer(BOUGHT_NOTICES, frozenset({ORDERS_PLACED}), bought_notices),
    ]
