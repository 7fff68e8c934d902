"""The streamer studio in a real browser: creating a room through the form and filling its cart, flips
that reach a viewer's channel within a second, the live figures moving after a paid order, going live
from the browser over WHIP, the live price / explaining / order / mute / end controls, and a viewer
getting no controls. The demo streamer may be live in one room at a time, so each test starts by ending
whatever room it left live."""

from __future__ import annotations

import contextlib
import json
import re
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect

from tests.browser.conftest import OpenPage, shoot
from tests.e2e.buying import ADDRESS
from tests.e2e.cluster import Cluster

STREAMER_ID = "demo-streamer"


def _api(site: Cluster, who: str) -> httpx.Client:
    return httpx.Client(base_url=site.http[0], headers=site.auth(who), timeout=10)


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


@pytest.fixture
def streamer(site: Cluster) -> Iterator[httpx.Client]:
    """The streamer's API client, with no room of theirs left live by an earlier test."""
    with _api(site, "streamer") as c:
        for room in _ok(c.get("/rooms", params={"state": "live", "shop_id": site.demo["shop_id"]}))["items"]:
            if room["streamer_id"] == STREAMER_ID:
                _ok(c.post(f"/rooms/{room['id']}/end"))
        yield c


def _live_room(c: httpx.Client, site: Cluster, products: int = 1, stock: int = 10) -> tuple[int, list[int]]:
    """A room live now with ``products`` listings, each with ``stock`` units and no limit."""
    room = _ok(
        c.post("/rooms", json={"shop_id": site.demo["shop_id"], "title": "Studio test", "start_now": True}),
        201,
    )
    items = _ok(c.get(f"/shops/{site.demo['shop_id']}/products"))["items"]
    lids = []
    for p in items[:products]:
        lid = _ok(c.post(f"/rooms/{room['id']}/listings", json={"product_id": p["id"]}), 201)["id"]
        _ok(c.put(f"/rooms/{room['id']}/listings/{lid}/stock", json={"stock": stock}))
        lids.append(lid)
    return room["id"], lids


def _listing(page: Any, lid: int) -> Any:
    return page.locator(f"[data-testid=listing][data-listing='{lid}']")


@contextlib.contextmanager
def _viewer(
    site: Cluster, room_id: int, who: str | None = None
) -> Iterator[tuple[ClientConnection, dict[str, Any]]]:
    """A viewer on the room channel (signed in as ``who``, if given) and its first frame."""
    with connect(f"{site.ws[0]}/ws/rooms/{room_id}", open_timeout=5) as ws:
        first = json.loads(ws.recv(timeout=5))
        if who is not None:
            ws.send(json.dumps({"t": "auth", "token": site.tokens[who], "id": "auth"}))
        yield ws, first


def _until(ws: ClientConnection, predicate: Any, timeout: float) -> dict[str, Any]:
    """Read frames until one holds a state event for which ``predicate`` is true; returns that event."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for the event"
        frame = json.loads(ws.recv(timeout=left))
        for ev in frame.get("state", []):
            if predicate(ev):
                return ev  # type: ignore[no-any-return]


def test_the_streamer_creates_a_live_room_and_fills_its_cart(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    page = open_page("/studio", who="streamer", size="desktop")
    page.get_by_test_id("new-room").click()
    page.get_by_test_id("room-title").fill("Tea tasting tonight")
    # the cover: a file that is not a picture is refused as the server words it, a PNG is uploaded
    cover_file = page.get_by_test_id("room-cover-file")
    cover_file.set_input_files({"name": "cover.png", "mimeType": "image/png", "buffer": b"not a picture"})
    expect(page.get_by_test_id("error")).to_have_attribute("data-code", "invalid_input")
    cover_file.set_input_files({"name": "cover.png", "mimeType": "image/png", "buffer": _png()})
    expect(page.get_by_test_id("room-cover")).to_have_value(re.compile(r"/uploads/images/[0-9a-f]{40}\.png$"))
    cover_url = page.get_by_test_id("room-cover").input_value()
    page.wait_for_function("() => document.querySelector('[data-testid=cover-preview]').naturalWidth === 32")
    page.get_by_test_id("room-description").fill("Three harvests side by side.")
    expect(page.get_by_test_id("room-now")).to_be_checked()
    page.get_by_test_id("room-submit").click()
    desk = page.get_by_test_id("room-desk")
    expect(desk).to_have_attribute("data-state", "live")
    room_id = int(desk.get_attribute("data-room"))
    room = _ok(streamer.get(f"/rooms/{room_id}"))
    assert (room["title"], room["state"], room["streamer_id"]) == ("Tea tasting tonight", "live", STREAMER_ID)
    assert room["cover_url"] == cover_url and httpx.get(cover_url).content == _png()
    assert page.url.endswith(f"/studio?room={room_id}")

    page.get_by_test_id("product-pick").select_option(label="Green tea, spring harvest 250 g · ¥128.00")
    page.get_by_test_id("add-product").click()
    listing = page.get_by_test_id("listing")
    expect(listing).to_have_count(1)
    expect(listing.get_by_test_id("listing-title")).to_have_text("Green tea, spring harvest 250 g")
    expect(listing.get_by_test_id("listing-stock")).to_have_text("No stock allotted")
    listing.get_by_test_id("edit-stock").click()
    listing.get_by_test_id("stock-units").fill("30")
    listing.get_by_test_id("stock-limit").fill("2")
    listing.get_by_test_id("stock-save").click()
    expect(listing.get_by_test_id("listing-stock")).to_have_text("30 of 30 left · at most 2 per buyer")
    lid = int(listing.get_attribute("data-listing"))
    stock = _ok(streamer.get(f"/rooms/{room_id}/listings/{lid}/stock"))
    assert (stock["stock"], stock["limit_per_user"], stock["units_left"]) == (30, 2, 30)
    cart = _ok(streamer.get(f"/rooms/{room_id}/cart"))
    assert [x["product"]["title"] for x in cart["listings"]] == ["Green tea, spring harvest 250 g"]
    assert page.errors == []


def test_the_streamer_schedules_edits_starts_and_cancels_rooms(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    page = open_page("/studio", who="streamer", size="desktop")
    in_two_hours = _local_input(hours=2)
    page.get_by_test_id("new-room").click()
    page.get_by_test_id("room-title").fill("Sunday scarves")
    page.get_by_test_id("room-later").check()
    page.get_by_test_id("room-at").fill(in_two_hours)
    page.get_by_test_id("room-submit").click()
    desk = page.get_by_test_id("room-desk")
    expect(desk).to_have_attribute("data-state", "scheduled")
    room_id = int(desk.get_attribute("data-room"))
    room = _ok(streamer.get(f"/rooms/{room_id}"))
    assert room["state"] == "scheduled" and 7000 < _seconds_from_now(room["scheduled_at"]) < 7300
    # edit while scheduled
    page.get_by_test_id("edit-room").click()
    page.get_by_test_id("room-title").fill("Sunday silk scarves")
    page.get_by_test_id("room-submit").click()
    expect(page.get_by_test_id("room-name")).to_have_text("Sunday silk scarves")
    assert _ok(streamer.get(f"/rooms/{room_id}"))["title"] == "Sunday silk scarves"
    # a listing with a countdown to its sale
    page.get_by_test_id("add-product").click()
    listing = page.get_by_test_id("listing")
    listing.get_by_test_id("edit-stock").click()
    listing.get_by_test_id("stock-units").fill("5")
    listing.get_by_test_id("stock-starts").fill(_local_input(hours=3))
    listing.get_by_test_id("stock-save").click()
    expect(listing.get_by_test_id("listing-stock")).to_contain_text("5 of 5 left · sale starts in 2:5")
    lid = int(listing.get_attribute("data-listing"))
    assert _ok(streamer.get(f"/rooms/{room_id}/listings/{lid}/stock"))["starts_at"] is not None
    # a second product, pinned and unpinned again while pending
    page.get_by_test_id("add-product").click()
    expect(page.get_by_test_id("listing")).to_have_count(2)
    page.get_by_test_id("listing").nth(1).get_by_test_id("remove").click()
    expect(page.get_by_test_id("listing")).to_have_count(1)
    assert [x["id"] for x in _ok(streamer.get(f"/rooms/{room_id}/cart"))["listings"]] == [lid]
    # go live
    page.get_by_test_id("start-room").click()
    expect(desk).to_have_attribute("data-state", "live")
    assert _ok(streamer.get(f"/rooms/{room_id}"))["state"] == "live"
    # the demo's scheduled room is cancelled from the list
    page.locator(f"[data-testid=room-item][data-room='{site.room_id}']").click()
    expect(page.get_by_test_id("room-desk")).to_have_attribute("data-room", str(site.room_id))
    page.get_by_test_id("cancel-room").click()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("room-desk")).to_have_attribute("data-state", "cancelled")
    assert _ok(streamer.get(f"/rooms/{site.room_id}"))["state"] == "cancelled"
    assert page.errors == []


def _png(width: int = 32, height: int = 18) -> bytes:
    """A small yellow PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([255, 212, 0]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _local_input(hours: float) -> str:
    """A datetime-local input's value (the browser runs in this machine's time zone)."""
    return (datetime.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _seconds_from_now(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() - time.time()


def test_grab_now_in_the_studio_reaches_a_viewer_within_a_second(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, [lid] = _live_room(streamer, site)
    page = open_page(f"/studio?room={room_id}", who="streamer")
    listing = _listing(page, lid)
    expect(listing).to_have_attribute("data-status", "pending")
    expect(listing.get_by_test_id("move-sold_out")).to_have_count(0)  # only the table's moves are offered
    with _viewer(site, room_id, who="viewer_1") as (ws, first):
        assert [x["status"] for x in first["cart"]] == ["pending"]
        clicked = time.monotonic()
        listing.get_by_test_id("move-on_sale").click()
        ev = _until(ws, lambda e: e["kind"] == "listing.status" and e["listing_id"] == lid, timeout=1.0)
        assert ev["status"] == "on_sale" and time.monotonic() - clicked < 1.0
    expect(listing).to_have_attribute("data-status", "on_sale")
    expect(listing.get_by_test_id("move-sold_out")).to_be_visible()
    expect(listing.get_by_test_id("move-on_sale")).to_have_count(0)
    # sold out, then restock (units added in the same move) puts it back on sale
    listing.get_by_test_id("move-sold_out").click()
    expect(listing).to_have_attribute("data-status", "sold_out")
    listing.get_by_test_id("restock-n").fill("5")
    listing.get_by_test_id("restock").click()
    expect(listing).to_have_attribute("data-status", "on_sale")
    expect(listing.get_by_test_id("listing-stock")).to_have_text("15 of 15 left")
    # a move the table refuses (made stale by another tab) shows the server's allowed moves
    page.evaluate("window.studioChannel.stop()")  # this tab will not hear the next move...
    page.route(f"**/rooms/{room_id}/cart", lambda route: route.abort())  # ...nor read it
    _ok(streamer.post(f"/rooms/{room_id}/listings/{lid}/status", json={"status": "off"}))
    listing.get_by_test_id("move-sold_out").click()
    expect(listing.get_by_test_id("error")).to_have_attribute("data-code", "invalid_transition")
    expect(listing.get_by_test_id("allowed-moves")).to_have_text("Allowed now: Grab now, Coming up")
    assert page.errors == []


def test_the_figures_move_after_a_buyer_pays(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, [lid] = _live_room(streamer, site)
    _ok(streamer.post(f"/rooms/{room_id}/listings/{lid}/status", json={"status": "on_sale"}))
    page = open_page(f"/studio?room={room_id}", who="streamer", size="desktop")
    expect(page.get_by_test_id("fig-orders").locator("b")).to_have_text("0")
    expect(page.get_by_test_id("fig-gmv").locator("b")).to_have_text("¥0.00")
    sku = _ok(streamer.get(f"/rooms/{room_id}/cart"))["listings"][0]["skus"][0]
    with _api(site, "viewer_1") as buyer:
        order = _ok(
            buyer.post(
                f"/rooms/{room_id}/listings/{lid}/orders",
                json={"sku_id": sku["id"], "quantity": 2, "address": ADDRESS},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        checkout = _ok(buyer.post(f"/orders/{order['id']}/pay"))
        clicked = httpx.post(checkout["pay_url"] + "/confirm")  # the sandbox page's "Pay now" button
        assert clicked.status_code == 303, clicked.text
    gmv = f"¥{sku['price_minor'] * 2 // 100}.{sku['price_minor'] * 2 % 100:02d}"
    expect(page.get_by_test_id("fig-orders").locator("b")).to_have_text("1")
    expect(page.get_by_test_id("fig-units").locator("b")).to_have_text("2")
    expect(page.get_by_test_id("fig-gmv").locator("b")).to_have_text(gmv)
    expect(_listing(page, lid).get_by_test_id("listing-stock")).to_have_text("8 of 10 left")
    assert page.errors == []


def test_the_streamer_goes_live_from_the_browser_with_the_test_pattern(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, _ = _live_room(streamer, site, products=0)
    page = open_page(f"/studio?room={room_id}", who="streamer", size="desktop")
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "idle")
    page.get_by_test_id("source").select_option("pattern")
    page.get_by_test_id("go-live").click()
    expect(page.get_by_test_id("publishing")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "publishing", timeout=15_000)
    assert _ok(streamer.get(f"/rooms/{room_id}/stream"))["state"] == "publishing"
    # the local preview plays what is published
    page.wait_for_function("() => document.querySelector('[data-testid=preview]').currentTime > 0.5")
    page.get_by_test_id("stop-publish").click()
    expect(page.get_by_test_id("go-live")).to_be_visible()
    expect(page.get_by_test_id("stream-state")).not_to_have_attribute("data-state", "publishing")
    # again with the camera and microphone (Chromium's fake devices here)
    page.get_by_test_id("source").select_option("camera")
    page.get_by_test_id("go-live").click()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "publishing", timeout=15_000)
    preview = "document.querySelector('[data-testid=preview]')"
    tracks = page.evaluate(f"{preview}.srcObject.getTracks().map(x => x.kind)")
    assert sorted(tracks) == ["audio", "video"]
    assert page.errors == []


def test_push_url_and_key_are_shown_with_copy_buttons(
    open_page: OpenPage, streamer: httpx.Client, site: Cluster
) -> None:
    room_id, _ = _live_room(streamer, site, products=0)
    page = open_page(f"/studio?room={room_id}", who="streamer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.http[0])
    # this site's provider is WebRTC: the WHIP URL and its bearer token, for an encoder that speaks WHIP
    page.get_by_test_id("show-rtmp").click()
    push = page.get_by_test_id("push")
    expect(push.get_by_test_id("push-url")).to_have_text(f"{site.http[0]}/media/whip/room-{room_id}")
    token = push.get_by_test_id("push-token").inner_text()
    assert len(token) > 20
    push.get_by_test_id("copy-token").click()
    expect(push.get_by_test_id("copy-token")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    # an RTMP provider's answer (nginx-rtmp or a CDN): the server and the stream key apart, to copy
    rtmp = {
        "protocol": "rtmp",
        "url": "rtmp://push.example.test/live/room-7?key=abc123",
        "server": "rtmp://push.example.test/live",
        "stream_key": "room-7?key=abc123",
        "bearer_token": None,
        "expires_at": "2030-01-01T00:00:00Z",
        "stream": {"provider": "nginx-rtmp", "state": "idle", "pull": {}, "replays": []},
    }
    page.route(
        f"**/rooms/{room_id}/stream/credentials",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(rtmp)),
    )
    page.get_by_test_id("show-rtmp").click()
    expect(push.get_by_test_id("push-server")).to_have_text("rtmp://push.example.test/live")
    expect(push.get_by_test_id("push-key")).to_have_text("room-7?key=abc123")
    expect(push.get_by_test_id("push-token")).to_have_count(0)
    push.get_by_test_id("copy-key").click()
    expect(push.get_by_test_id("copy-key")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "room-7?key=abc123"
    assert page.errors == []


def test_live_price_explaining_order_mute_and_end(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, lids = _live_room(streamer, site, products=2)
    page = open_page(f"/studio?room={room_id}", who="streamer", size="desktop")
    first = _listing(page, lids[0])
    expect(first).to_be_visible()
    # a live price, parsed into minor units
    first.get_by_test_id("edit-price").click()
    first.get_by_test_id("price-input").fill("12.3.4")
    first.get_by_test_id("price-save").click()
    expect(first.get_by_test_id("error")).to_have_attribute("data-code", "studio_bad_price")
    first.get_by_test_id("price-input").fill("88.8")
    first.get_by_test_id("price-save").click()
    expect(first.get_by_test_id("listing-price")).to_have_text("¥88.80")
    cart = _ok(streamer.get(f"/rooms/{room_id}/cart"))
    assert cart["listings"][0]["live_price_minor"] == 8880
    # explaining now
    first.get_by_test_id("explain").click()
    expect(first.get_by_test_id("explaining")).to_be_visible()
    assert _ok(streamer.get(f"/rooms/{room_id}"))["explaining_listing_id"] == lids[0]
    # reorder: the first goes down
    first.get_by_test_id("down").click()
    expect(page.get_by_test_id("listing").first).to_have_attribute("data-listing", str(lids[1]))
    cart = _ok(streamer.get(f"/rooms/{room_id}/cart"))
    assert [x["id"] for x in cart["listings"]] == [lids[1], lids[0]]
    # a chatter is muted from the chat list
    with _viewer(site, room_id, who="viewer_2") as (ws, _):
        ws.send(json.dumps({"t": "chat", "text": "is the tea organic?", "id": "c1"}))
        line = page.locator("[data-testid=chat-line][data-user=demo-viewer-2]")
        expect(line).to_contain_text("is the tea organic?")
        line.get_by_test_id("mute").click()
        expect(line.get_by_test_id("unmute")).to_be_visible()
        mutes = _ok(streamer.get(f"/rooms/{room_id}/mutes"))["items"]
        assert [m["user_id"] for m in mutes] == ["demo-viewer-2"]
        ws.send(json.dumps({"t": "chat", "text": "hello?", "id": "c2"}))
        deadline = time.monotonic() + 5
        while True:
            frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            if frame.get("t") == "error" and frame.get("id") == "c2":
                assert frame["code"] == "muted"
                break
    # the streamer speaks in the chat too (no mute button on their own lines)
    page.get_by_test_id("chat-input").fill("Yes, organic and hand-picked")
    page.get_by_test_id("chat-input").press("Enter")
    own = page.locator("[data-testid=chat-line][data-user=demo-streamer]")
    expect(own).to_contain_text("Yes, organic and hand-picked")
    expect(own.get_by_test_id("mute")).to_have_count(0)
    expect(page.get_by_test_id("chat-input")).to_have_value("")
    # end the room, confirmed first
    page.get_by_test_id("end-room").click()
    page.get_by_test_id("confirm-no").click()
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    page.get_by_test_id("end-room").click()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("room-desk")).to_have_attribute("data-state", "ended")
    assert _ok(streamer.get(f"/rooms/{room_id}"))["state"] == "ended"
    expect(page.get_by_test_id("move-off")).to_have_count(0)  # no moves once the room has ended
    assert page.errors == []


def test_an_operator_runs_the_cart_and_schedules_for_the_streamer(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, [lid] = _live_room(streamer, site)
    page = open_page(f"/studio?room={room_id}", who="shop_operator", size="desktop")
    listing = _listing(page, lid)
    listing.get_by_test_id("move-on_sale").click()
    expect(listing).to_have_attribute("data-status", "on_sale")
    expect(page.get_by_test_id("go-live")).to_have_count(0)  # only the room's streamer pushes video
    expect(page.locator(".studio-room")).to_contain_text("Only the room's streamer (demo-streamer)")
    page.get_by_test_id("new-room").click()
    expect(page.get_by_test_id("room-now")).to_be_disabled()
    expect(page.get_by_test_id("room-later")).to_be_checked()
    page.get_by_test_id("room-title").fill("Operator's pick")
    page.get_by_test_id("room-at").fill(_local_input(hours=5))
    expect(page.get_by_test_id("room-streamer")).to_have_value("demo-streamer")
    page.get_by_test_id("room-submit").click()
    desk = page.get_by_test_id("room-desk")
    expect(desk).to_have_attribute("data-state", "scheduled")
    room = _ok(streamer.get(f"/rooms/{desk.get_attribute('data-room')}"))
    assert (room["title"], room["streamer_id"]) == ("Operator's pick", STREAMER_ID)
    expect(page.get_by_test_id("start-room")).to_have_count(0)
    assert page.errors == []


def test_a_viewer_gets_no_studio_controls_and_the_api_refuses_them(
    open_page: OpenPage, site: Cluster, streamer: httpx.Client
) -> None:
    room_id, [lid] = _live_room(streamer, site)
    page = open_page(f"/studio?room={room_id}", who="viewer_1")
    expect(page.get_by_test_id("gate")).to_be_visible()
    for control in ("new-room", "room-desk", "cart", "go-live", "end-room"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    expect(page.locator("[data-nav='/studio']")).to_have_count(0)
    with _api(site, "viewer_1") as viewer:
        refused = [
            viewer.post("/rooms", json={"shop_id": site.demo["shop_id"], "title": "x", "start_now": True}),
            viewer.post(f"/rooms/{room_id}/listings/{lid}/status", json={"status": "on_sale"}),
            viewer.post(f"/rooms/{room_id}/end"),
            viewer.post(f"/rooms/{room_id}/stream/credentials"),
            viewer.post(f"/rooms/{room_id}/mutes", json={"user_id": "demo-viewer-2"}),
        ]
    assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
    guest = open_page("/studio")
    expect(guest.get_by_test_id("gate").get_by_role("link")).to_be_visible()


def test_studio_screenshots(open_page: OpenPage, site: Cluster, streamer: httpx.Client) -> None:
    room_id, lids = _live_room(streamer, site, products=3)
    _ok(streamer.post(f"/rooms/{room_id}/listings/{lids[0]}/status", json={"status": "on_sale"}))
    _ok(streamer.put(f"/rooms/{room_id}/explaining", json={"listing_id": lids[0]}))
    _ok(streamer.put(f"/rooms/{room_id}/listings/{lids[1]}/price", json={"live_price_minor": 4900}))
    with _viewer(site, room_id, who="viewer_1") as (ws, _):
        ws.send(json.dumps({"t": "chat", "text": "晚上好", "id": "c1"}))
        for size in ("phone", "desktop"):
            for lang in ("en", "zh-CN"):
                page = open_page(f"/studio?room={room_id}", who="streamer", size=size, lang=lang)
                expect(page.get_by_test_id("chat-line").first).to_be_visible()
                expect(page.get_by_test_id("listing")).to_have_count(3)
                expect(page.get_by_test_id("fig-orders").locator("b")).to_have_text("0")
                assert shoot(page, "studio", size, lang).exists()
                assert page.errors == []
                page.context.close()
