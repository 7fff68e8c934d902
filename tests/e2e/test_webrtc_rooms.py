"""A room on the WebRTC provider (the default), through our HTTP API: the streamer publishes a test
pattern over WHIP, the room goes live, two viewers play it over WHEP and receive frames, and a platform
force-end closes all three; the push token is refused from then on. ``yellowcart test-stream`` is the
same publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiortc.mediastreams import MediaStreamError

from live.streamtest import publish_test_stream
from media.testpattern import TestPatternTrack
from media.whip_client import WhepSession, WhipError, play, publish
from tests.e2e.world import STAFF, VIEWER, ok, qualified_shop, scheduled_room
from tests.media_support import only_loopback_candidates, room_client
from tests.support import Client, FakeClock

MEDIA_TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def _loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    only_loopback_candidates(monkeypatch)


@pytest.fixture
async def c(db_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    async with room_client(db_url, clock, media_provider="webrtc") as client:
        yield client


def transport(c: Client) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=c.app)


async def ended(viewer: WhepSession) -> None:
    async with asyncio.timeout(MEDIA_TIMEOUT):
        with pytest.raises(MediaStreamError):
            while True:
                await viewer.track.recv()
        await viewer.wait_closed()


async def test_whip_makes_the_room_live_two_whep_viewers_get_frames_and_force_end_closes_all(
    c: Client,
) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    rid = room["id"]
    creds = await ok(await c.call("POST", f"/rooms/{rid}/stream/credentials", w.streamer))
    assert creds["protocol"] == "whip" and creds["url"].endswith(f"/media/whip/room-{rid}")

    # a wrong token is refused before anything is set up
    with pytest.raises(WhipError) as refused:
        await publish(creds["url"], "1-00", TestPatternTrack(), transport=transport(c))
    assert refused.value.status == 403

    whip = await publish(creds["url"], creds["bearer_token"], TestPatternTrack(), transport=transport(c))
    got = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert got["state"] == "live" and got["stream"]["state"] == "publishing"

    stream = await ok(await c.call("GET", f"/rooms/{rid}/stream", VIEWER))
    assert stream["pull"]["webrtc"].endswith(f"/media/whep/room-{rid}") and stream["play_token"]
    with pytest.raises(WhipError) as no_token:
        await play(stream["pull"]["webrtc"], None, transport=transport(c))
    assert no_token.value.status == 403
    with pytest.raises(WhipError) as push_as_play:  # a play token cannot publish
        await publish(creds["url"], stream["play_token"], TestPatternTrack(), transport=transport(c))
    assert push_as_play.value.status in (403, 409)

    viewers = [
        await play(stream["pull"]["webrtc"], stream["play_token"], transport=transport(c)) for _ in range(2)
    ]
    async with asyncio.timeout(MEDIA_TIMEOUT):
        frames = await asyncio.gather(*(v.frames(5) for v in viewers))
    assert all(len(f) == 5 and f[0].width == 320 for f in frames)

    await ok(await c.call("POST", f"/staff/rooms/{rid}/force-end", STAFF, json={"reason": "rules"}))
    assert c.services.media.sessions(f"room-{rid}") == []  # type: ignore[attr-defined]
    for viewer in viewers:
        await ended(viewer)
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await whip.wait_closed()
    assert {h.connection_state for h in [whip, *viewers]} <= {"closed", "failed"}
    got = await ok(await c.call("GET", f"/rooms/{rid}"))
    assert got["state"] == "force_ended" and got["stream"]["state"] == "ended"

    with pytest.raises(WhipError) as again:  # the same key is refused from then on
        await publish(creds["url"], creds["bearer_token"], TestPatternTrack(), transport=transport(c))
    assert again.value.status == 403
    history = await ok(await c.call("GET", f"/rooms/{rid}/stream/events", STAFF))
    assert [(i["kind"], i["outcome"]) for i in reversed(history["items"])] == [
        ("stream.started", "went_live"),
        ("stream.stopped", "noted"),  # the force-end had ended the stream already
    ]
    for h in [whip, *viewers]:
        await h.close()


async def test_the_test_stream_command_publishes_to_a_room(c: Client) -> None:
    w = await qualified_shop(c)
    room = await scheduled_room(c, w, listings=False)
    token = c.token(*w.streamer)
    code = await publish_test_stream("http://test", room["id"], token, seconds=0.5, transport=transport(c))
    assert code == 0
    got = await ok(await c.call("GET", f"/rooms/{room['id']}"))
    # it went live while the pattern was up; it is interrupted now that the publisher left
    assert got["state"] == "live" and got["stream"]["state"] == "interrupted"
    # a viewer cannot push
    assert await publish_test_stream("http://test", room["id"], c.token(*VIEWER), transport=transport(c)) == 1
