"""Streams wired to rooms, through the HTTP API: credentials, the provider's callbacks (in nginx-rtmp's
format, posted the way nginx posts them), going live by stream, the grace period, the end of a room, and
the stream history. No media server is needed here; tests/integration/test_media_rooms.py pushes real
video."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from commerce.core.outbox import OutboxEvent
from live.streaming.jobs import StreamJobs
from tests.e2e.channel import Viewer, serve
from tests.e2e.world import STAFF, VIEWER, ok, qualified_shop, scheduled_room
from tests.media_support import room_client
from tests.support import Client, FakeClock, make_services

GRACE = 30.0


@pytest.fixture
async def c(db_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    async with room_client(
        db_url,
        clock,
        media_provider="nginx-rtmp",
        media_grace_seconds=GRACE,
        media_key_ttl_seconds=3600,
        # nothing listens here: cutting a stream fails at the provider and must not fail the room's end
        nginx_http_url="http://127.0.0.1:9",
    ) as client:
        yield client


def key_of(creds: dict[str, Any]) -> str:
    return str(dict(parse_qsl(urlsplit(creds["url"]).query))["key"])


async def callback(c: Client, call: str, name: str, key: str | None = None, **extra: str) -> httpx.Response:
    """A callback as nginx-rtmp posts it: form fields, with the push URL's query arguments appended."""
    fields = {
        "app": "live",
        "flashver": "FMLE/3.0",
        "swfurl": "",
        "tcurl": "rtmp://127.0.0.1:1935/live",
        "pageurl": "",
        "addr": "127.0.0.1",
        "clientid": "7",
        "call": call,
        "name": name,
        **extra,
    }
    if call == "publish":
        fields["type"] = "live"
    if key is not None:
        fields["key"] = key
    return await c.http.post(
        "/media/callbacks/nginx-rtmp",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def kinds(c: Client, room_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with c.services.db.read() as s:
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.stream == f"room:{room_id}").order_by(OutboxEvent.seq)
        )
        return [(r.kind, r.payload) for r in rows]


async def test_push_credentials_are_for_the_rooms_streamer_only(c: Client) -> None:
    w = await qualified_shop(c)
    other = await qualified_shop(c, "b")
    room = await scheduled_room(c, w, listings=False)
    path = f"/rooms/{room['id']}/stream/credentials"
    creds = await ok(await c.call("POST", path, w.streamer))
    assert creds["protocol"] == "rtmp"
    assert creds["url"] == f"{creds['server']}/{creds['stream_key']}"
    assert creds["url"].startswith(f"rtmp://127.0.0.1:1935/live/room-{room['id']}?key=")
    assert creds["stream"]["state"] == "idle"
    assert creds["stream"]["pull"]["hls"].endswith(f"/hls/room-{room['id']}.m3u8")
    for who in (VIEWER, other.streamer, w.operator):
        r = await c.call("POST", path, who)
        assert r.status_code == 403, r.text
    assert (await c.call("POST", path, None)).status_code == 401
    # viewers learn where to pull from the room itself
    got = await ok(await c.call("GET", f"/rooms/{room['id']}"))
    assert got["stream"]["pull"]["rtmp"] == f"rtmp://127.0.0.1:1935/live/room-{room['id']}"


async def test_a_stream_start_makes_the_room_live_and_a_drop_inside_the_grace_period_does_not_end_it(
    c: Client, clock: FakeClock
) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))

    assert (await ok(await callback(c, "publish", name, key)))["outcome"] == "went_live"
    got = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert got["state"] == "live" and got["stream"]["state"] == "publishing"

    clock.advance(seconds=100)
    assert (await ok(await callback(c, "publish_done", name, key)))["outcome"] == "interrupted"
    clock.advance(seconds=GRACE - 1)
    assert await StreamJobs(c.services).sweep_once() == []
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "live"
    # the streamer reconnects inside the grace period
    assert (await ok(await callback(c, "publish", name, key)))["outcome"] == "admitted"
    clock.advance(seconds=GRACE * 3)
    assert await StreamJobs(c.services).sweep_once() == []
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["stream"]["state"] == "publishing"

    states = [p["state"] for k, p in await kinds(c, rid) if k == "stream.state"]
    assert states == ["publishing", "interrupted", "publishing"]
    assert [p["state"] for k, p in await kinds(c, rid) if k == "room.state"] == ["live"]


async def test_a_drop_longer_than_the_grace_period_ends_the_room_and_refuses_the_key(
    c: Client, clock: FakeClock
) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(await callback(c, "publish", name, key))
    await ok(await callback(c, "publish_done", name, key))
    clock.advance(seconds=GRACE + 1)
    assert await StreamJobs(c.services).sweep_once() == [rid]
    got = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert got["state"] == "ended" and got["stream"]["state"] == "ended"
    assert "stream lost" in got["end_reason"]
    assert (await StreamJobs(c.services).sweep_once()) == []  # once
    r = await callback(c, "publish", name, key)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"]["outcome"] == "refused"
    # and new credentials are not given for an ended room
    r = await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)
    assert r.status_code == 409, r.text


async def test_the_sweep_ending_a_room_closes_its_listings_for_every_viewer(
    c: Client, clock: FakeClock
) -> None:
    """The stream sweep's end is like any other: the listings on sale or pending turn off in the same
    transaction (sold out ones stay), and a viewer reads each final status before the room's end."""
    w = await qualified_shop(c, products=3)
    room = await scheduled_room(c, w, stock=2)
    rid, lids, name = room["id"], room["listing_ids"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(await callback(c, "publish", name, key))
    for lid, status in ((lids[0], "on_sale"), (lids[1], "on_sale"), (lids[1], "sold_out")):
        await ok(
            await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": status})
        )
    await c.services.relay.drain()
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        await ok(await callback(c, "publish_done", name, key))
        clock.advance(seconds=GRACE + 1)
        assert await StreamJobs(c.services).sweep_once() == [rid]
        await c.services.relay.drain()
        assert await v.closed() == 4000
        got = [(e["kind"], e.get("listing_id"), e.get("status") or e.get("state")) for e in v.state]
        assert got[:4] == [
            ("stream.state", None, "interrupted"),
            ("listing.status", lids[0], "off"),
            ("listing.status", lids[2], "off"),
            ("room.state", None, "ended"),
        ]
        # the stream's end is recorded after the room's, in the same transaction: the same frame or none
        assert got[4:] in ([], [("stream.state", None, "ended")])
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert [x["status"] for x in cart["listings"]] == ["off", "sold_out", "off"]
    hist = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lids[0]}/history", STAFF))
    assert (hist["items"][-1]["to_state"], hist["items"][-1]["reason"]) == ("off", "room ended")


async def test_wrong_and_expired_keys_are_refused(c: Client, clock: FakeClock) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    other = await scheduled_room(c, w, listings=False)
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    other_key = key_of(await ok(await c.call("POST", f"/rooms/{other['id']}/stream/credentials", w.streamer)))

    for bad in (None, "", key[:-1] + ("0" if key[-1] != "0" else "1"), other_key, "garbage"):
        r = await callback(c, "publish", name, bad)
        assert r.status_code == 403, (bad, r.text)
        assert r.json()["error"]["code"].startswith("stream_key_")
    clock.advance(seconds=3601)
    r = await callback(c, "publish", name, key)
    assert r.status_code == 403 and r.json()["error"]["code"] == "stream_key_expired", r.text
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "scheduled"
    # a bad key is refused before the event reaches the room: nothing happened to it
    page = await ok(await c.call("GET", f"/rooms/{rid}/stream/events", STAFF))
    assert page["items"] == []


async def test_force_end_ends_the_stream_and_refuses_the_key_from_then_on(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(await callback(c, "publish", name, key))
    await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
    got = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert got["state"] == "force_ended" and got["stream"]["state"] == "ended"
    # nginx reports the dropped publisher; the room stays ended and the key is refused
    assert (await ok(await callback(c, "publish_done", name, key)))["outcome"] == "noted"
    r = await callback(c, "publish", name, key)
    assert r.status_code == 403, r.text
    assert [p["state"] for k, p in await kinds(c, rid) if k == "stream.state"] == ["publishing", "ended"]


async def test_the_streamer_ending_the_room_ends_the_stream(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(await callback(c, "publish", name, key))
    await ok(await c.call("POST", f"/rooms/{rid}/end", w.streamer))
    assert (await ok(await c.call("GET", f"/rooms/{rid}/stream")))["state"] == "ended"
    assert (await callback(c, "publish", name, key)).status_code == 403


async def test_manual_go_live_admits_the_stream_but_waits_for_the_streamer(
    db_url: str, clock: FakeClock
) -> None:
    services = make_services(db_url, clock, media_provider="nginx-rtmp", media_go_live="manual")
    c = Client(services)
    try:
        w = await qualified_shop(c)
        room = await scheduled_room(c, w, listings=False)
        rid, name = room["id"], f"room-{room['id']}"
        key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
        assert (await ok(await callback(c, "publish", name, key)))["outcome"] == "admitted"
        got = await ok(await c.call("GET", f"/rooms/{rid}"))
        assert got["state"] == "scheduled" and got["stream"]["state"] == "publishing"
        await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
        assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "live"
    finally:
        await c.aclose()
        await services.db.dispose()


async def test_a_stream_of_an_unqualified_shop_is_refused(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(
        await c.call(
            "POST", f"/staff/shops/{w.shop_id}/decisions", STAFF, json={"decision": "revoke", "reason": "x"}
        )
    )
    r = await callback(c, "publish", name, key)
    assert r.status_code == 403, r.text
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "scheduled"


async def test_stream_history_is_for_staff_and_the_rooms_shop(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer)))
    await ok(await callback(c, "publish", name, key))
    await ok(await callback(c, "play", name, None, start="-2", duration="-1", reset="0"))
    await ok(await callback(c, "publish_done", name, key))
    page = await ok(await c.call("GET", f"/rooms/{rid}/stream/events", STAFF))
    got = [(i["kind"], i["name"], i["outcome"]) for i in page["items"]]
    assert got == [
        ("stream.stopped", "publish_done", "interrupted"),
        ("other", "play", "noted"),
        ("stream.started", "publish", "went_live"),
    ]
    assert all("key" not in i["payload"] for i in page["items"])  # the push key is not kept
    assert (await ok(await c.call("GET", f"/rooms/{rid}/stream/events?limit=1", w.operator)))["next_before"]
    assert (await c.call("GET", f"/rooms/{rid}/stream/events", VIEWER)).status_code == 403


async def test_callbacks_are_taken_only_from_the_media_servers_address(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    name = f"room-{room['id']}"
    key = key_of(await ok(await c.call("POST", f"/rooms/{room['id']}/stream/credentials", w.streamer)))
    stranger = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=c.app, client=("203.0.113.9", 4000)), base_url="http://test"
    )
    try:
        r = await stranger.post(
            "/media/callbacks/nginx-rtmp",
            content=urlencode({"call": "publish_done", "name": name, "key": key}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    finally:
        await stranger.aclose()
    assert r.status_code == 403, r.text
    assert (await c.call("POST", "/media/callbacks/aliyun")).status_code == 404  # not the chosen provider
    r = await callback(c, "publish", "not-a-room", key)
    assert r.status_code in (403, 404), r.text


async def test_a_room_created_without_a_cover_is_accepted(c: Client) -> None:
    w = await qualified_shop(c)
    body = {"shop_id": w.shop_id, "title": "No cover", "start_now": True}
    room = await ok(await c.call("POST", "/rooms", w.streamer, json=body), 201)
    assert room["cover_url"] is None
