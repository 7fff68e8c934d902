"""Danmaku moderation over the channel: masked words queued for review, blocked words refused, removals
broadcast, mutes by the room's shop and staff."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from commerce.core.identity import Role
from tests.e2e.channel import Viewer, serve
from tests.e2e.world import STAFF, VIEWER, ok, qualified_shop, scheduled_room
from tests.support import Client


@pytest.fixture
async def ws_base(client: Client) -> AsyncIterator[str]:
    async with serve(client.services) as base:
        yield base


async def test_masked_words_are_queued_and_removals_reach_every_viewer(client: Client, ws_base: str) -> None:
    c = client
    w = await qualified_shop(c)
    room = await scheduled_room(c, w)
    rid = room["id"]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    await ok(
        await c.call("POST", "/staff/moderation/words", STAFF, json={"word": "Cheap", "action": "mask"}), 201
    )
    await ok(
        await c.call("POST", "/staff/moderation/words", STAFF, json={"word": "scam", "action": "block"}), 201
    )
    r = await c.call("POST", "/staff/moderation/words", STAFF, json={"word": "cheap", "action": "block"})
    assert r.status_code == 409
    token = c.token("fan-9", Role.VIEWER)
    async with (
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={token}") as fan,
        Viewer.connect(f"{ws_base}/ws/rooms/{rid}") as other,
    ):
        await fan.send({"t": "chat", "text": "this is a SCAM", "id": "b1"})
        await fan.until(lambda v: any(o.get("code") == "blocked" for o in v.other))
        blocked = next(o for o in fan.other if o.get("code") == "blocked")
        assert blocked["details"] == {"words": ["scam"]} and blocked["id"] == "b1"
        await fan.send({"t": "chat", "text": "so cheap, CHEAP!"})
        await other.until(lambda v: any(m.get("masked") for m in v.chat))
        shown = next(m for m in other.chat if m.get("masked"))
        assert shown["text"] == "so *****, *****!"
        assert not any("SCAM" in m["text"] for m in other.chat)
        queue = await ok(await c.call("GET", "/staff/moderation/reviews", STAFF))
        assert queue["total"] == 1
        item = queue["items"][0]
        assert (
            item["original"] == "so cheap, CHEAP!"
            and item["chat_id"] == shown["id"]
            and item["words"] == "cheap"
        )
        removed = await ok(
            await c.call(
                "POST", f"/staff/moderation/reviews/{item['id']}/decision", STAFF, json={"decision": "remove"}
            )
        )
        assert removed["status"] == "removed" and removed["reviewed_by"] == STAFF[0]
        for v in (fan, other):
            await v.until(lambda v: any(e["kind"] == "chat.removed" for e in v.state))
            assert next(e for e in v.state if e["kind"] == "chat.removed")["chat_id"] == shown["id"]
        again = await c.call(
            "POST", f"/staff/moderation/reviews/{item['id']}/decision", STAFF, json={"decision": "approve"}
        )
        assert again.status_code == 409 and again.json()["error"]["details"]["allowed"] == []


async def test_mutes_by_the_rooms_shop_and_staff(client: Client, ws_base: str) -> None:
    c = client
    w = await qualified_shop(c)
    other_shop = await qualified_shop(c, "b", products=0)
    room = await scheduled_room(c, w)
    rid = room["id"]
    await ok(await c.call("POST", f"/rooms/{rid}/start", w.streamer))
    token = c.token("loud-1", Role.VIEWER)
    async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={token}") as loud:
        for actor in (VIEWER, other_shop.streamer, ("finance-1", Role.FINANCE)):
            r = await c.call("POST", f"/rooms/{rid}/mutes", actor, json={"user_id": "loud-1"})
            assert r.status_code == 403, r.text
        m = await ok(
            await c.call(
                "POST", f"/rooms/{rid}/mutes", w.streamer, json={"user_id": "loud-1", "reason": "spam"}
            )
        )
        assert m["muted_by"] == w.streamer[0]
        await ok(await c.call("POST", f"/rooms/{rid}/mutes", STAFF, json={"user_id": "loud-1"}))  # idempotent
        await loud.until(lambda v: any(e["kind"] == "room.muted" for e in v.state))
        await loud.send({"t": "chat", "text": "let me talk"})
        await loud.until(lambda v: any(o.get("code") == "muted" for o in v.other))
        r = await c.call("POST", f"/rooms/{rid}/mutes", w.operator, json={"user_id": w.streamer[0]})
        assert r.status_code == 409
        mutes = await ok(await c.call("GET", f"/rooms/{rid}/mutes", w.operator))
        assert [x["user_id"] for x in mutes["items"]] == ["loud-1"]
        r = await c.call("DELETE", f"/rooms/{rid}/mutes/loud-1", w.operator)
        assert r.status_code == 204
        await loud.until(lambda v: any(e["kind"] == "room.unmuted" for e in v.state))
        await loud.send({"t": "chat", "text": "thanks", "id": "t1"})
        await loud.until(lambda v: any(o.get("t") == "ack" and o["id"] == "t1" for o in v.other))
    # a viewer who joins later is muted from the database
    await ok(await c.call("POST", f"/rooms/{rid}/mutes", STAFF, json={"user_id": "loud-1"}))
    await c.services.relay.drain()
    async with Viewer.connect(f"{ws_base}/ws/rooms/{rid}?token={token}") as loud:
        await loud.send({"t": "chat", "text": "again"})
        await loud.until(lambda v: any(o.get("code") == "muted" for o in v.other))
    audit = await ok(await c.call("GET", "/staff/audit-log", STAFF, params={"action": "room.mute"}))
    assert audit["total"] == 2


async def test_room_admins_named_by_the_shop_may_mute(client: Client) -> None:
    c = client
    w = await qualified_shop(c)
    other_shop = await qualified_shop(c, "b", products=0)
    room = await scheduled_room(c, w)
    rid = room["id"]
    helper = ("helper-1", Role.VIEWER)
    r = await c.call("POST", f"/rooms/{rid}/mutes", helper, json={"user_id": "loud-1"})
    assert r.status_code == 403 and "room admins" in r.json()["error"]["message"]
    for actor in (helper, VIEWER, other_shop.streamer, STAFF):  # naming admins is the shop's call
        r = await c.call("POST", f"/rooms/{rid}/admins", actor, json={"user_id": "helper-1"})
        assert r.status_code == 403, (actor, r.text)
    r = await c.call("POST", f"/rooms/{rid}/admins", w.streamer, json={"user_id": "bad id!"})
    assert r.status_code == 422
    r = await c.call("POST", f"/rooms/{rid}/admins", w.operator, json={"user_id": w.streamer[0]})
    assert r.status_code == 409
    named = await ok(await c.call("POST", f"/rooms/{rid}/admins", w.streamer, json={"user_id": "helper-1"}))
    assert named["named_by"] == w.streamer[0]
    again = await ok(await c.call("POST", f"/rooms/{rid}/admins", w.operator, json={"user_id": "helper-1"}))
    assert again["named_by"] == w.streamer[0]  # naming twice changes nothing
    admins = await ok(await c.call("GET", f"/rooms/{rid}/admins", w.operator))
    assert [a["user_id"] for a in admins["items"]] == ["helper-1"]
    assert (await c.call("GET", f"/rooms/{rid}/admins", VIEWER)).status_code == 403
    await ok(await c.call("POST", f"/rooms/{rid}/mutes", helper, json={"user_id": "loud-1"}))
    r = await c.call("POST", f"/rooms/{rid}/mutes", helper, json={"user_id": w.streamer[0]})
    assert r.status_code == 409  # an admin cannot mute the streamer either
    assert (await c.call("DELETE", f"/rooms/{rid}/mutes/loud-1", helper)).status_code == 204
    audit = await ok(await c.call("GET", "/staff/audit-log", STAFF, params={"action": "room.mute"}))
    assert [(e["actor_id"], e["actor_role"]) for e in audit["items"]] == [("helper-1", "room_admin")]
    assert (await c.call("DELETE", f"/rooms/{rid}/admins/helper-1", helper)).status_code == 403
    assert (await c.call("DELETE", f"/rooms/{rid}/admins/helper-1", w.operator)).status_code == 204
    assert (await c.call("DELETE", f"/rooms/{rid}/admins/helper-1", w.operator)).status_code == 204
    r = await c.call("POST", f"/rooms/{rid}/mutes", helper, json={"user_id": "loud-1"})
    assert r.status_code == 403
    await ok(await c.call("POST", f"/rooms/{rid}/cancel", w.streamer, json={"reason": "not today"}))
    r = await c.call("POST", f"/rooms/{rid}/admins", w.streamer, json={"user_id": "helper-2"})
    assert r.status_code == 409


async def test_only_staff_manage_words_and_reviews(client: Client) -> None:
    c = client
    w = await qualified_shop(c, products=0)
    for actor in (VIEWER, w.streamer, w.operator, ("finance-1", Role.FINANCE)):
        assert (await c.call("GET", "/staff/moderation/words", actor)).status_code == 403
        r = await c.call("POST", "/staff/moderation/words", actor, json={"word": "x", "action": "mask"})
        assert r.status_code == 403
        assert (await c.call("GET", "/staff/moderation/reviews", actor)).status_code == 403
    assert (await ok(await c.call("GET", "/staff/moderation/words", STAFF)))["items"] == []
