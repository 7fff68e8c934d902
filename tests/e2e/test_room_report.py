"""The room's data report: traffic, interaction and sales, live while the room runs and final after."""

from __future__ import annotations

import asyncio

from commerce.core.identity import Role
from commerce.orders.models import OrderStatus
from commerce.orders.transitions import Actor
from tests.e2e.buying import _buy, _sale
from tests.e2e.channel import Viewer, serve
from tests.e2e.world import STAFF, VIEWER, ok
from tests.support import Client


async def test_report_counts_traffic_interaction_and_sales(shop: Client) -> None:
    c = shop
    w, rid, lid, sku = await _sale(c, stock=10, limit=None)
    fan = ("fan-1", Role.VIEWER)
    async with (
        serve(c.services) as base,
        Viewer.connect(f"{base}/ws/rooms/{rid}?token={c.token('fan-1', Role.VIEWER)}") as v,
        Viewer.connect(f"{base}/ws/rooms/{rid}"),
    ):
        await v.until(lambda v: v.counts.get("online") == 2)  # counted by the hub's counts round
        for i in range(2):
            await v.send({"t": "chat", "text": f"hello {i}", "id": f"c{i}"})
        await v.until(lambda v: len([o for o in v.other if o.get("t") == "ack"]) == 2)
        followed = await ok(
            await c.call("PUT", f"/streamers/{w.streamer[0]}/follow", fan, json={"room_id": rid})
        )
        assert followed["new"] is True
        again = await ok(
            await c.call("PUT", f"/streamers/{w.streamer[0]}/follow", fan, json={"room_id": rid})
        )
        assert again["new"] is False
        r = await c.call("PUT", f"/streamers/{w.streamer[0]}/follow", w.streamer, json={})
        assert r.status_code == 409  # not yourself
        assert (await c.call("PUT", "/streamers/nobody/follow", fan, json={})).status_code == 404
        mine = await ok(await _buy(c, rid, lid, "fan-1", "k1", sku, qty=2), 201)
        await ok(await _buy(c, rid, lid, "other-1", "k2", sku, qty=1), 201)  # never paid
        await c.services.orders.move(
            mine["id"], OrderStatus.PAID, actor=Actor.SYSTEM, actor_id="payment-test"
        )
        live = await ok(await c.call("GET", f"/rooms/{rid}/report", w.operator))
        assert live["final"] is False and live["orders"] == 1 and live["orders_placed"] == 2
    await ok(await c.call("POST", f"/rooms/{rid}/end", w.streamer))
    async with asyncio.timeout(10):  # the hub hands over its figures when it lets the room go
        while rid in c.services.hub.rooms:
            await asyncio.sleep(0.05)
    assert (await c.call("GET", f"/rooms/{rid}/report", VIEWER)).status_code == 403
    report = await ok(await c.call("GET", f"/rooms/{rid}/report", w.operator))
    assert report["final"] is True
    assert report["danmaku"] == 2 and report["new_followers"] == 1
    assert report["audience"]["unique_viewers"] == 1 and report["audience"]["peak"] == 2
    assert report["orders"] == 1 and report["orders_placed"] == 2 and report["units"] == 2
    assert report["gmv_minor"] == mine["total_minor"] and report["currency"] == "CNY"
    assert report["buyers"] == 1 and report["conversion"] == 1.0
    assert report["watch_seconds"] >= 0 and report["average_watch_seconds"] == report["watch_seconds"]
    line = next(x for x in report["listings"] if x["listing_id"] == lid)
    assert (line["orders"], line["units"], line["gmv_minor"], line["buyers"]) == (
        1,
        2,
        mine["total_minor"],
        1,
    )
    assert [p["orders"] for p in report["series"] if p["orders"]] == [1]
    assert sum(p["gmv_minor"] for p in report["series"]) == mine["total_minor"]
    unfollowed = await ok(await c.call("DELETE", f"/streamers/{w.streamer[0]}/follow", fan))
    assert unfollowed["following"] is False
    staff = await ok(await c.call("GET", f"/rooms/{rid}/report", STAFF))
    assert staff["new_followers"] == 0  # the follow is gone
