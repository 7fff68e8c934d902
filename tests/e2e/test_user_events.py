"""A signed-in viewer gets their own events (their orders moving) on the room socket, in order, and
only theirs; coming back with ``user_since`` gives the ones missed, on both back-ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets

from commerce.core.errors import DatabaseUnavailable
from commerce.core.identity import Role
from tests.e2e.buying import _buy, _sale
from tests.e2e.channel import serve
from tests.e2e.world import ok
from tests.support import Client


class Socket:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def next_user_frame(self, timeout: float = 5) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await self.ws.recv())
                self.frames.append(msg)
                if msg["t"] == "user":
                    return dict(msg)

    async def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        """The user frames that arrive within ``seconds``."""
        got: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    msg = json.loads(await self.ws.recv())
                    if msg["t"] == "user":
                        got.append(msg)
        return got


@contextlib.asynccontextmanager
async def _socket(url: str) -> AsyncIterator[Socket]:
    async with websockets.connect(url, open_timeout=5) as ws:
        yield Socket(ws)


async def test_a_viewer_gets_their_own_order_events_on_the_room_socket(shop: Client) -> None:
    c = shop
    _w, rid, lid, sku = await _sale(c, stock=10, limit=2)
    buyer, other = c.token("fan-1", Role.VIEWER), c.token("fan-2", Role.VIEWER)
    async with serve(c.services) as base:
        async with (
            _socket(f"{base}/ws/rooms/{rid}?token={buyer}") as mine,
            _socket(f"{base}/ws/rooms/{rid}?token={other}") as theirs,
            _socket(f"{base}/ws/rooms/{rid}") as guest,
        ):
            first = await mine.next_user_frame()
            assert mine.frames[0]["t"] == "snapshot"  # the room first, then the viewer's own stream
            assert first == {"t": "user", "seq": 0, "events": []}
            assert (await theirs.next_user_frame())["seq"] == 0
            order = (await _buy(c, rid, lid, "fan-1", "k-1", sku)).json()
            await ok(await c.call("POST", f"/orders/{order['id']}/cancel", ("fan-1", Role.VIEWER), json={}))
            moved = await mine.next_user_frame()
            assert moved["seq"] == 1
            [event] = moved["events"]
            assert (event["kind"], event["order_id"], event["from"], event["status"], event["seq"]) == (
                "order.status",
                order["id"],
                "pending_payment",
                "cancelled",
                1,
            )
            assert await theirs.quiet_for(0.5) == []  # nobody else's
            assert await guest.quiet_for(0.1) == []
        # away: another order of theirs is placed and cancelled by staff-less timeout? cancel again
        second = (await _buy(c, rid, lid, "fan-1", "k-2", sku)).json()
        await ok(await c.call("POST", f"/orders/{second['id']}/cancel", ("fan-1", Role.VIEWER), json={}))
        await c.services.relay.drain()
        async with _socket(f"{base}/ws/rooms/{rid}?token={buyer}&user_since=1") as back:
            again = await back.next_user_frame()
            assert again["recovered"] is True and again["seq"] == 2
            assert [(e["seq"], e["order_id"]) for e in again["events"]] == [(2, second["id"])]
        async with _socket(f"{base}/ws/rooms/{rid}?token={buyer}&user_since=99") as ahead:
            assert await ahead.next_user_frame() == {"t": "user", "seq": 2, "events": [], "recovered": False}
        # a guest who signs in on the socket starts receiving their own stream
        async with _socket(f"{base}/ws/rooms/{rid}") as later:
            await later.ws.send(json.dumps({"t": "auth", "token": buyer, "id": "a"}))
            assert (await later.next_user_frame())["seq"] == 2


async def test_a_busy_database_when_following_a_viewer_closes_with_try_again(
    shop: Client, monkeypatch: Any
) -> None:
    """Reading the viewer's own stream needs the database: if it cannot answer in time the viewer is
    told so and closed with 1013 (come back shortly), never left with a dead socket."""
    c = shop
    _w, rid, _lid, _sku = await _sale(c, stock=1)

    async def busy(*args: Any, **kwargs: Any) -> None:
        raise DatabaseUnavailable("pool_exhausted", "every connection busy", retry_after=1)

    monkeypatch.setattr(c.services.hub, "follow_user", busy)
    token = c.token("fan-1", Role.VIEWER)
    async with serve(c.services) as base, websockets.connect(f"{base}/ws/rooms/{rid}?token={token}") as ws:
        frames = []
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    frames.append(json.loads(await ws.recv()))
        assert frames[-1] == {
            "t": "error",
            "code": "unavailable",
            "message": "server busy: try again shortly",
        }
        assert ws.close_code == 1013
