"""A room on a CDN provider (Tencent Cloud CSS), through our callback endpoint: the CDN reports a push
(it admitted it by its own URL signature), the room goes live; a platform force-end drops and forbids
the stream through the vendor's API (the local stand-in checks the TC3 signature of every call); a push
the CDN reports for an ended room is refused and cut through the API again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.world import STAFF, ok, qualified_shop, scheduled_room
from tests.media_fakes import fake_tencent_live, tencent_push_event
from tests.support import Client, FakeClock, make_services

PUSH, KEY = "push.example.com", "callback-key"


@pytest.fixture
async def c(db_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    services = make_services(
        db_url,
        clock,
        media_provider="tencent",
        tencent_push_domain=PUSH,
        tencent_play_domain="play.example.com",
        tencent_push_key="push-key",
        tencent_callback_key=KEY,
        tencent_secret_id="AKID-test",
        tencent_secret_key="secret-key-test",
    )
    # the vendor's API is the local stand-in; everything else is as configured
    from media.tencent import TencentLiveProvider

    api = fake_tencent_live({"AKID-test": "secret-key-test"}, clock)
    provider = services.media
    assert isinstance(provider, TencentLiveProvider)
    provider._transport = httpx.ASGITransport(app=api)
    services.streams.provider = provider
    client = Client(services)
    client.api = api  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        await client.aclose()
        await provider.close()
        await services.db.dispose()


async def callback(c: Client, body: dict[str, object], clock: FakeClock) -> httpx.Response:
    t = int(clock().timestamp()) + 60
    import hashlib

    signed = {**body, "t": t, "sign": hashlib.md5(f"{KEY}{t}".encode()).hexdigest()}
    return await c.http.post("/media/callbacks/tencent", content=json.dumps(signed))


async def test_a_cdn_push_makes_the_room_live_and_force_end_forbids_it_at_the_cdn(
    c: Client, clock: FakeClock
) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid, name = room["id"], f"room-{room['id']}"
    creds = await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer))
    assert creds["url"].startswith(f"rtmp://{PUSH}/live/{name}?txSecret=")
    assert "txTime=" in creds["url"]

    r = await callback(c, tencent_push_event(1, name, domain=PUSH, sequence="1001"), clock)
    assert (await ok(r))["outcome"] == "went_live"
    assert (await ok(await c.call("GET", f"/rooms/{rid}")))["state"] == "live"
    # the CDN retries a callback it did not hear answered: the same sequence changes nothing
    again = await ok(await callback(c, tencent_push_event(1, name, domain=PUSH, sequence="1001"), clock))
    assert again["outcome"] == "went_live"

    bad = tencent_push_event(0, name, domain=PUSH, sequence="1002")
    forged = {**bad, "t": int(clock().timestamp()) + 60, "sign": "0" * 32}
    r = await c.http.post("/media/callbacks/tencent", content=json.dumps(forged))
    assert r.status_code == 401, r.text
    assert (await ok(await c.call("GET", f"/rooms/{rid}/stream")))["state"] == "publishing"

    await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
    api = c.api  # type: ignore[attr-defined]
    key = (PUSH, "live", name)
    assert key in api.state.dropped and key in api.state.forbidden

    # the CDN still reports a push for the ended room (say, before the forbid reached every edge): it is
    # refused, and cut again through the API
    api.state.dropped.clear()
    r = await callback(c, tencent_push_event(1, name, domain=PUSH, sequence="1003"), clock)
    assert (await ok(r))["outcome"] == "refused"  # answered 200: the CDN does not act on the answer
    assert key in api.state.dropped
    events = await ok(await c.call("GET", f"/rooms/{rid}/stream/events", STAFF))
    assert [(i["event_id"], i["outcome"]) for i in reversed(events["items"])] == [
        ("1001", "went_live"),
        ("1003", "refused"),
    ]
