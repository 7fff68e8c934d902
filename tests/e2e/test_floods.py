"""Floods and origins on the room channel through a real server: the tester's flood (10,000 each of bad
JSON, unknown types, pings and 50-like messages) is cut off with 4029 and adds a bounded number of
likes; a page of a foreign origin cannot open the socket, even with a valid token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from commerce.core.identity import Role
from live.wsserver import WS_PROTOCOL
from tests.e2e.channel import Viewer, serve
from tests.e2e.floods import EVERYTHING, FLOODS, accepted, flood, refused_handshake
from tests.e2e.world import STAFF, live_room, ok, qualified_shop
from tests.support import Client

SHOP_ORIGIN = "https://shop.example"


@pytest.fixture(params=[WS_PROTOCOL, "websockets-sansio"], ids=["direct", "asgi"])
async def ws_base(client: Client, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    services = client.services
    services.settings = services.settings.model_copy(update={"ws_allowed_origins": [SHOP_ORIGIN]})
    async with serve(services, ws=request.param) as base:
        yield base


async def _likes(c: Client, rid: int) -> int:
    """The room's like total as staff see it, once this process has summed what it counted."""
    await asyncio.sleep(c.services.settings.ws_counts_seconds * 1.5)
    rooms = await ok(await c.call("GET", "/staff/rooms", STAFF, params={"state": "live"}))
    return int(next(r for r in rooms["items"] if r["id"] == rid)["figures"]["likes"])


async def test_the_testers_flood_is_closed_with_4029_and_adds_few_likes(client: Client, ws_base: str) -> None:
    c = client
    room = await live_room(c, await qualified_shop(c))
    url = f"{ws_base}/ws/rooms/{room['id']}"
    settings = c.services.settings
    async with Viewer.connect(url) as bystander:
        code, flooder = await flood(url, EVERYTHING)
        assert code == 4029
        # it was cut off within its first kind (bad JSON): a few answers, not 40,000
        errors = [o["code"] for o in flooder.other if o.get("t") == "error"]
        assert errors and set(errors) == {"bad_json"} and len(errors) <= settings.ws_flood_burst + 5
        assert await _likes(c, room["id"]) == 0
        # each kind alone is cut off the same way
        for kind, messages in FLOODS.items():
            started = time.monotonic()
            code, flooder = await flood(url, messages)
            elapsed = time.monotonic() - started
            assert code == 4029, kind
            answers = [o for o in flooder.other if o.get("t") in {"error", "pong"}]
            assert len(answers) <= settings.ws_flood_burst + settings.ws_pings_per_minute + 5, kind
        # 10,000 messages of 50 likes (500,000 before): at most a second's worth and what it sent meanwhile
        likes = await _likes(c, room["id"])
        assert 0 < likes <= settings.likes_per_second * (1 + elapsed)
        # the bystander saw the room go on, and its own messages are still answered
        await bystander.send({"t": "ping", "id": "still-here"})
        await bystander.until(lambda v: any(o.get("id") == "still-here" for o in v.other))
        await bystander.until(lambda v: v.counts.get("likes") == likes)


async def test_a_page_of_a_foreign_origin_cannot_open_the_socket(client: Client, ws_base: str) -> None:
    c = client
    room = await live_room(c, await qualified_shop(c))
    token = c.token("fan-1", Role.VIEWER)
    url = f"{ws_base}/ws/rooms/{room['id']}?token={token}"
    metric = c.services.metrics.registry.get_sample_value
    status, body = await refused_handshake(url, "https://evil.example")
    assert status == 403
    assert body == {
        "error": {
            "code": "forbidden_origin",
            "message": "this origin may not open the room channel",
            "details": {"origin": "https://evil.example"},
        }
    }
    assert (await refused_handshake(url, "null"))[0] == 403
    assert metric("yellowcart_ws_messages_total", {"type": "connect", "outcome": "forbidden_origin"}) == 2
    assert not metric("yellowcart_ws_accepted_total", {"path": "direct"})  # never reached the room
    assert not metric("yellowcart_ws_accepted_total", {"path": "asgi"})
    own = ws_base.replace("ws://", "http://")
    for origin in (None, own, SHOP_ORIGIN):  # a native app, the server's own pages, a configured site
        assert await accepted(url, origin) == "snapshot"
