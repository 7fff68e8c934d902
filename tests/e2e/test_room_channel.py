"""The room channel over a real WebSocket: snapshot, ordered state events, chat, likes, counts, end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy.exc
import websockets

from commerce.core.errors import NotFound
from commerce.core.identity import Role
from live.broker.base import RoomFigures
from live.broker.memory import MemoryBroker
from live.event_log import EventLog
from live.rooms.models import Room as RoomModel
from live.snapshots import RoomSnapshots
from live.wsserver import WS_PROTOCOL
from tests.e2e.channel import Viewer, read_until_closed, serve, stalled_viewer
from tests.e2e.world import STAFF, ShopWorld, ok, qualified_shop, scheduled_room
from tests.support import Client


@pytest.fixture(params=[WS_PROTOCOL, "websockets-sansio"], ids=["direct", "asgi"])
async def ws_base(client: Client, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The channel served with room frames written directly, and through plain ASGI sends."""
    async with serve(client.services, ws=request.param) as base:
        yield base


async def _live_room(c: Client) -> tuple[ShopWorld, dict[str, Any]]:
    w = await qualified_shop(c, products=2)
    room = await scheduled_room(c, w, stock=5)
    await ok(await c.call("POST", f"/rooms/{room['id']}/start", w.streamer))
    return w, room


async def test_snapshot_then_ordered_state_events_then_end(
    client: Client, ws_base: str, request: pytest.FixtureRequest
) -> None:
    c = client
    w, room = await _live_room(c)
    rid, lids = room["id"], room["listing_ids"]
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as v1,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as v2,
    ):
        path = "direct" if request.node.callspec.params["ws_base"] == WS_PROTOCOL else "asgi"
        accepted = c.services.metrics.registry.get_sample_value
        # the send path the server offers is the one the channel takes
        assert accepted("yellowcart_ws_accepted_total", {"path": path}) == 2
        snap = v1.snapshot
        assert snap["room"]["state"] == "live" and [x["id"] for x in snap["cart"]] == lids
        assert snap["seq"] == 6  # created, two listings and their stock, live
        assert [x["units_left"] for x in snap["cart"]] == [5, 5]
        base = snap["seq"]
        for status in ("on_sale", "sold_out", "on_sale", "off"):
            await ok(
                await c.call(
                    "POST",
                    f"/rooms/{rid}/listings/{lids[0]}/status",
                    w.streamer,
                    json={"status": status},
                )
            )
        await ok(
            await c.call(
                "PUT",
                f"/rooms/{rid}/listings/{lids[1]}/price",
                w.streamer,
                json={"live_price_minor": 990},
            )
        )
        for v in (v1, v2):
            await v.until(lambda v: len(v.state) >= 5)
            assert [e["seq"] for e in v.state] == list(range(base + 1, base + 6))
            assert [e.get("status") for e in v.state[:4]] == ["on_sale", "sold_out", "on_sale", "off"]
            assert v.state[4]["kind"] == "listing.price" and v.state[4]["live_price_minor"] == 990
        await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
        for v in (v1, v2):
            code = await v.closed()
            assert code == 4000
            # the pending listing was switched off by the end, before the room's own event
            assert [(e["kind"], e.get("listing_id"), e.get("status")) for e in v.state[5:]] == [
                ("listing.status", lids[1], "off"),
                ("room.state", None, None),
            ]
            assert v.state[-1]["kind"] == "room.state" and v.state[-1]["state"] == "force_ended"
            assert v.state[-1]["reason"] == "rules"


END_MOVES = {
    "ended": ("POST", "/rooms/{rid}/end", "streamer", None),
    "force_ended": ("POST", "/staff/rooms/{rid}/force-end", "staff", {"reason": "rules"}),
    "cancelled": ("POST", "/rooms/{rid}/cancel", "streamer", {"reason": "changed plans"}),
}


@pytest.mark.parametrize("final", sorted(END_MOVES))
async def test_a_rooms_end_closes_its_listings_and_every_viewer_reads_their_final_status(
    client: Client, final: str
) -> None:
    """On sale and pending listings turn off in the end's own transaction (sold out ones stay): each move
    is recorded and reaches every viewer as a listing.status event before the room's end and the 4000."""
    c = client
    w = await qualified_shop(c, products=4)
    room = await scheduled_room(c, w, stock=3)
    rid, lids = room["id"], room["listing_ids"]
    expected = {lids[0]: "off", lids[1]: "off", lids[2]: "off", lids[3]: "off"}
    if final != "cancelled":  # a live room: one on sale, one sold out, one switched off, one pending
        await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
        for lid, moves in ((lids[0], ["on_sale"]), (lids[1], ["on_sale", "sold_out"]), (lids[2], ["off"])):
            for status in moves:
                await ok(
                    await c.call(
                        "POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": status}
                    )
                )
        expected[lids[1]] = "sold_out"
    else:
        await ok(
            await c.call(
                "POST", f"/rooms/{rid}/listings/{lids[2]}/status", w.streamer, json={"status": "off"}
            )
        )
    method, path, who, body = END_MOVES[final]
    actor = STAFF if who == "staff" else w.streamer
    async with serve(c.services) as base, Viewer.connect(f"{base}/ws/rooms/{rid}") as v:
        before = {x["id"]: x["status"] for x in v.snapshot["cart"]}
        closing = [lid for lid in lids if before[lid] in ("pending", "on_sale")]
        await ok(await c.call(method, path.format(rid=rid), actor, json=body))
        assert await v.closed() == 4000
        seqs = [e["seq"] for e in v.state]
        assert seqs == list(range(v.snapshot["seq"] + 1, v.snapshot["seq"] + 1 + len(seqs)))  # no gap
        assert [(e["kind"], e.get("listing_id"), e.get("from"), e.get("status")) for e in v.state] == [
            *(("listing.status", lid, before[lid], "off") for lid in closing),
            ("room.state", None, "scheduled" if final == "cancelled" else "live", None),
        ]
        assert v.state[-1]["state"] == final
        assert all(e["reason"] == f"room {final}" for e in v.state[:-1])
        # what the viewer applied is the cart the server now shows
        seen = {**before, **{e["listing_id"]: e["status"] for e in v.state[:-1]}}
    cart = await ok(await c.call("GET", f"/rooms/{rid}/cart"))
    assert {x["id"]: x["status"] for x in cart["listings"]} == expected == seen
    assert all(x["allowed_statuses"] == [] for x in cart["listings"])
    for lid in closing:
        hist = await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/history", STAFF))
        last = hist["items"][-1]
        assert (last["from_state"], last["to_state"], last["actor_id"], last["reason"]) == (
            before[lid],
            "off",
            actor[0],
            f"room {final}",
        )
    for lid in lids:  # and nothing is sold any more: every allotment is closed
        assert (await ok(await c.call("GET", f"/rooms/{rid}/listings/{lid}/stock")))["on_sale"] is False


async def test_chat_likes_and_counts(client: Client, ws_base: str) -> None:
    c = client
    _w, room = await _live_room(c)
    rid = room["id"]
    token = c.token("fan-1", Role.VIEWER)
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={token}") as fan,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as guest,
    ):
        await fan.send({"t": "chat", "text": "hello room", "id": "m1"})
        await fan.send({"t": "like", "n": 5})
        await guest.send({"t": "like", "n": 2})
        await guest.until(lambda v: any(m["text"] == "hello room" for m in v.chat))
        msg = next(m for m in guest.chat if m["text"] == "hello room")
        assert msg["user_id"] == "fan-1"
        await fan.until(lambda v: any(o.get("t") == "ack" and o["id"] == "m1" for o in v.other))
        await guest.until(lambda v: v.counts.get("likes") == 7 and v.counts.get("online") == 2)
        # a new viewer's snapshot carries the recent chat and the totals
        async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as late:
            assert any(m["text"] == "hello room" for m in late.snapshot["chat"])
            assert late.snapshot["counts"]["likes"] == 7


async def test_resume_after_a_dropped_connection(client: Client, ws_base: str) -> None:
    c = client
    w, room = await _live_room(c)
    rid, lid = room["id"], room["listing_ids"][0]
    async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as v:
        last = v.seq
    for status in ("on_sale", "sold_out"):
        await ok(
            await c.call(
                "POST",
                f"/rooms/{rid}/listings/{lid}/status",
                w.streamer,
                json={"status": status},
            )
        )
    await c.services.relay.drain()
    async with websockets.connect(f"{ws_base}/ws/rooms/{rid}?since={last}") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["t"] == "resume" and first["recovered"] is True
    assert [(e["seq"], e["status"]) for e in first["state"]] == [
        (last + 1, "on_sale"),
        (last + 2, "sold_out"),
    ]
    # the broker's history is gone (as after a Redis restart): the database still has every event
    broker = c.services.hub.broker
    assert isinstance(broker, MemoryBroker)
    broker._state.clear()
    async with websockets.connect(f"{ws_base}/ws/rooms/{rid}?since={last}") as ws:
        again = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert again["t"] == "resume" and again["seq"] == last + 2
    assert [e["seq"] for e in again["state"]] == [last + 1, last + 2]
    assert again["state"] == first["state"]  # the same events, byte for byte in meaning
    # too far behind (beyond the resume window) or ahead of the room: a fresh snapshot, saying so
    truth = c.services.hub.truth
    assert isinstance(truth, EventLog)
    truth.limit = 1
    for since in (last, last + 3, 99_999_999):
        async with websockets.connect(f"{ws_base}/ws/rooms/{rid}?since={since}") as ws:
            snap = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert snap["t"] == "snapshot" and snap["recovered"] is False and snap["seq"] == last + 2
    async with websockets.connect(f"{ws_base}/ws/rooms/{rid}?since={last + 2}") as ws:
        level = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert level == {"t": "resume", "recovered": True, "seq": last + 2, "state": []}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "bad_json"),
        ('["chat"]', "bad_message"),
        ('{"t": "dance"}', "unknown_type"),
        ('{"t": "chat", "text": "hi"}', "login_required"),
        ('{"t": "like", "n": 0}', "invalid"),
        ('{"t": "like", "n": "5"}', "invalid"),
    ],
)
async def test_bad_messages_get_errors_and_the_room_goes_on(
    client: Client, ws_base: str, message: str, code: str
) -> None:
    c = client
    w, room = await _live_room(c)
    rid, lid = room["id"], room["listing_ids"][0]
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as bad,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as ok_v,
    ):
        await bad.ws.send(message)
        await bad.until(lambda v: any(o.get("t") == "error" for o in v.other))
        assert [o["code"] for o in bad.other if o["t"] == "error"] == [code]
        await ok(
            await c.call(
                "POST",
                f"/rooms/{rid}/listings/{lid}/status",
                w.streamer,
                json={"status": "on_sale"},
            )
        )
        for v in (ok_v, bad):
            await v.until(lambda v: any(e.get("status") == "on_sale" for e in v.state))


async def test_chat_validation_rate_limit_and_oversized_frames(client: Client, ws_base: str) -> None:
    c = client
    _w, room = await _live_room(c)
    rid = room["id"]
    token = c.token("fan-2", Role.VIEWER)
    async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={token}") as fan:
        for text in ("", "x" * 101, "bell\u0007"):
            await fan.send({"t": "chat", "text": text})
        await fan.until(lambda v: sum(o.get("code") == "invalid" for o in v.other) == 3)
        for i in range(8):
            await fan.send({"t": "chat", "text": f"spam {i}"})
        await fan.until(lambda v: any(o.get("code") == "rate_limited" for o in v.other))
        sent = [m for m in fan.chat if m["text"].startswith("spam")]
        assert len(sent) <= c.services.settings.chat_burst
        await fan.ws.send(json.dumps({"t": "chat", "text": "y" * 10_000}))
        assert await fan.closed() == 1009


async def test_tokens_rooms_and_ended_rooms(client: Client, ws_base: str) -> None:
    c = client
    w, room = await _live_room(c)
    async with websockets.connect(f"{ws_base}/ws/rooms/{room['id']}?token=garbage") as ws:
        msg = json.loads(await ws.recv())
        assert msg["code"] == "unauthenticated"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4001
    # an unknown room, and ids that cannot be one (not a number, zero, beyond 2**63-1): the same 4004 close
    for bad in ("999999", "abc", "0", "-1", "9223372036854775808", "%E4%B8%80"):
        async with websockets.connect(f"{ws_base}/ws/rooms/{bad}") as ws:
            assert json.loads(await ws.recv())["code"] == "not_found"
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4004, bad
    await ok(await c.call("POST", f"/rooms/{room['id']}/end", w.streamer))
    async with websockets.connect(f"{ws_base}/ws/rooms/{room['id']}") as ws:
        assert json.loads(await ws.recv())["t"] == "ended"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4000


async def test_staff_room_list_shows_live_figures(client: Client, ws_base: str) -> None:
    c = client
    _, room = await _live_room(c)
    rid = room["id"]
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={c.token('fig-1', Role.VIEWER)}") as v,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as guest,
    ):
        await v.send({"t": "like", "n": 3})
        await guest.until(lambda g: g.counts.get("likes") == 3 and g.counts.get("online") == 2)
        listing = await ok(await c.call("GET", "/staff/rooms", STAFF, params={"state": "live"}))
        figures = next(r for r in listing["items"] if r["id"] == rid)["figures"]
        assert figures == {"online": 2, "peak": 2, "unique_viewers": 1, "likes": 3}
        report = await ok(await c.call("GET", f"/rooms/{rid}/report", STAFF))
        assert report["audience"] == figures
    # anyone's room list shows a live room's figures (what its page shows every viewer), none for others
    public = await ok(await c.call("GET", "/rooms", params={"state": "live"}))
    assert next(r for r in public["items"] if r["id"] == rid)["figures"]["likes"] == 3
    scheduled = await ok(await c.call("GET", "/rooms", params={"state": "scheduled"}))
    assert all(r["figures"] is None for r in scheduled["items"])


async def test_audience_figures_are_kept_in_the_database_for_the_report(
    client: Client, ws_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client
    w, room = await _live_room(c)
    rid = room["id"]
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={c.token('fig-1', Role.VIEWER)}") as v,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={c.token('fig-2', Role.VIEWER)}"),
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={c.token('fig-1', Role.VIEWER)}"),
    ):
        await v.send({"t": "like", "n": 5})
        await v.until(lambda v: v.counts.get("likes") == 5 and v.counts.get("online") == 3)
    await ok(await c.call("POST", f"/rooms/{rid}/end", w.streamer))
    async with asyncio.timeout(10):  # the hub lets the room go once its viewers have left
        while rid in c.services.hub.rooms:
            await asyncio.sleep(0.05)
    async with c.services.db.read() as s:
        kept = await s.get(RoomModel, rid)
        assert kept is not None and (kept.peak_viewers, kept.unique_viewers, kept.likes) == (3, 2, 5)

    async def forgotten(room_id: int) -> RoomFigures:  # the broker lost its figures (Redis flushed)
        return RoomFigures(online=0, peak=0, unique_viewers=0, likes=0)

    monkeypatch.setattr(c.services.hub.audience.counters, "figures", forgotten)
    report = await ok(await c.call("GET", f"/rooms/{rid}/report", w.operator))
    assert report["audience"] == {"online": 0, "peak": 3, "unique_viewers": 2, "likes": 5}


async def test_shutdown_tells_viewers_to_reconnect_and_they_resume(client: Client, ws_base: str) -> None:
    c = client
    w, room = await _live_room(c)
    rid, lid = room["id"], room["listing_ids"][0]
    async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as v:
        last = v.seq
        await c.services.hub.stop()  # what the server's shutdown does first
        assert await v.closed() == 1012
    await c.services.hub.start()  # "another process": the same database and broker
    await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    )
    await c.services.relay.drain()
    async with websockets.connect(f"{ws_base}/ws/rooms/{rid}?since={last}") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["t"] == "resume" and [e["seq"] for e in first["state"]] == [last + 1]


async def test_a_stalled_viewer_is_coalesced_then_cut_off_and_the_room_goes_on(client: Client) -> None:
    """A real socket that never reads, in a room of readers: they get every event in order without
    delay; the stalled one has its state coalesced, then is closed (4008) or cut off."""
    c = client
    _w, room = await _live_room(c)
    rid = room["id"]
    hub, broker = c.services.hub, c.services.hub.broker
    hub.tick_seconds = 0.005
    metrics = c.services.metrics.registry
    padding = "x" * 16_384  # big events fill the stalled socket's buffers quickly
    async with serve(c.services) as base:
        stalled = await stalled_viewer(f"{base}/ws/rooms/{rid}")
        async with (
            Viewer.connect(f"{base}/ws/rooms/{rid}") as v1,
            Viewer.connect(f"{base}/ws/rooms/{rid}") as v2,
        ):
            first = (await broker.positions([f"room:{rid}"]))[f"room:{rid}"].top + 1
            seq = first

            def slow_actions(action: str) -> float:
                return (
                    metrics.get_sample_value("yellowcart_ws_slow_client_actions_total", {"action": action})
                    or 0
                )

            while not slow_actions("closed"):
                assert seq < first + 3000, "the stalled viewer was never closed"
                event = {"kind": "listing.price", "listing_id": seq % 2, "pad": padding}
                await broker.publish_state(f"room:{rid}", seq, json.dumps(event).encode())
                seq += 1
                await asyncio.sleep(0.005)
                last = seq - 1
                await asyncio.gather(*(v.until(lambda v: v.seq >= last) for v in (v1, v2)))  # noqa: B023
            for v in (v1, v2):
                assert [e["seq"] for e in v.state] == list(range(first, seq))
                assert v.max_lag_ms < 1000, v.max_lag_ms
            assert slow_actions("coalesced") >= 1
            async with asyncio.timeout(10):  # it cannot take a close frame: cut off after 5 s
                while len(hub.rooms[rid].connections) != 2:
                    await asyncio.sleep(0.01)
            left = await read_until_closed(stalled)
            assert len(left) < (seq - first) * len(padding)  # it was sent far less than everything
        stalled.close()


async def test_viewers_joining_together_share_one_snapshot_read(client: Client) -> None:
    c = client
    w, room = await _live_room(c)
    rid, lid = room["id"], room["listing_ids"][0]
    now = [0.0]
    snaps = RoomSnapshots(c.services.db, c.services.orders.stock, max_age=2.0, monotonic=lambda: now[0])
    got = await asyncio.gather(*(snaps.get(rid, covering=0) for _ in range(50)))
    assert snaps.reads == 1 and all(v is got[0] for v in got)
    first = got[0]
    assert first.room["state"] == "live" and [x["id"] for x in first.cart] == room["listing_ids"]
    assert (await snaps.get(rid, covering=first.seq)) is first and snaps.reads == 1
    await ok(
        await c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
    )
    newer = await snaps.get(rid, covering=first.seq + 1)  # the hub has delivered an event after it
    assert snaps.reads == 2 and newer.seq == first.seq + 1
    assert next(x for x in newer.cart if x["id"] == lid)["status"] == "on_sale"
    now[0] = 2.5  # too old, whatever the sequence
    assert (await snaps.get(rid, covering=0)) is not newer and snaps.reads == 3
    with pytest.raises(NotFound):
        await asyncio.gather(*(snaps.get(999_999, covering=0) for _ in range(3)))


async def test_an_overloaded_database_closes_the_joiner_with_1013(
    client: Client, ws_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _w, room = await _live_room(client)

    async def pool_exhausted(room_id: int, *, covering: int) -> Any:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    monkeypatch.setattr(client.services.snapshots, "get", pool_exhausted)
    async with websockets.connect(f"{ws_base}/ws/rooms/{room['id']}") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["t"] == "error" and first["code"] == "unavailable"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1013
