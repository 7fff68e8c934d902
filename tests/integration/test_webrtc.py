"""The WebRTC provider (media/webrtc.py) with real aiortc peers on this machine: WHIP in, WHEP out.

The provider is driven over HTTP through a minimal Starlette app defined here (the real routes live in
``live.api.media``; this one only maps requests to provider calls and domain errors to statuses), with the
WHIP/WHEP client of ``media.whip_client`` talking to it through ``httpx.ASGITransport``. Media flows over
real UDP sockets on 127.0.0.1. Real time is used only to wait for media and connection changes, always under
a timeout; key expiry uses an injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commerce.core.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from media.keys import StreamKeys
from media.provider import CallbackRequest, InvalidCallback, StreamEvent, StreamEventKind, StreamKeyRefused
from media.testpattern import TestPatternTrack, clock_box
from media.webrtc import Role, WebRTCProvider
from media.whip_client import WhepSession, WhipError, WhipSession, play, publish
from tests.media_support import only_loopback_candidates

BASE = "http://yellowcart.test"
STREAM = "room-42"
MEDIA_TIMEOUT = 20.0  # generous: a loaded CI machine encodes and decodes slowly


@pytest.fixture(autouse=True)
def _loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    only_loopback_candidates(monkeypatch)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Events:
    """The provider's event sink: keeps events and lets a test wait for one."""

    def __init__(self) -> None:
        self.seen: list[StreamEvent] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: StreamEvent) -> None:
        async with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def of(self, kind: StreamEventKind) -> list[StreamEvent]:
        return [e for e in self.seen if e.kind == kind]

    async def wait(self, kind: StreamEventKind, count: int = 1) -> list[StreamEvent]:
        async with asyncio.timeout(MEDIA_TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)


def _status(exc: DomainError) -> int:
    if isinstance(exc, StreamKeyRefused):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, Unavailable):
        return 503
    return 500


def whip_app(provider: WebRTCProvider) -> Starlette:
    """WHIP/WHEP over the provider: POST an offer (201, answer, Location), DELETE the Location."""

    def refused(exc: DomainError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        return JSONResponse(body, status_code=_status(exc))

    def bearer(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    async def offer(request: Request) -> Response:
        stream = request.path_params["stream"]
        kind = request.path_params["kind"]
        if kind not in ("whip", "whep"):
            return Response(status_code=404)
        sdp = (await request.body()).decode()
        try:
            if kind == "whip":
                session = await provider.publish(stream, sdp, bearer(request))
            else:
                session = await provider.play(stream, sdp, bearer(request))
        except DomainError as exc:
            return refused(exc)
        return Response(
            session.answer_sdp,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"/media/{kind}/{stream}/{session.id}"},
        )

    async def delete(request: Request) -> Response:
        try:
            await provider.end(request.path_params["session"], stream=request.path_params["stream"])
        except DomainError as exc:
            return refused(exc)
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/media/{kind:str}/{stream}", offer, methods=["POST"]),
            Route("/media/{kind:str}/{stream}/{session}", delete, methods=["DELETE"]),
        ]
    )


@dataclass
class Rig:
    provider: WebRTCProvider
    events: Events
    clock: Clock
    transport: httpx.AsyncBaseTransport
    handles: list[WhipSession | WhepSession] = field(default_factory=list)

    def push(self, stream: str = STREAM, ttl: timedelta = timedelta(hours=1)) -> tuple[str, str]:
        creds = self.provider.push_credentials(stream, self.clock(), ttl)
        assert creds.bearer_token is not None
        return creds.url, creds.bearer_token

    def watch(self, stream: str = STREAM, ttl: timedelta = timedelta(hours=1)) -> tuple[str, str]:
        url = self.provider.pull_urls(stream).webrtc
        assert url is not None
        return url, self.provider.play_token(stream, self.clock() + ttl)

    async def publish(self, stream: str = STREAM) -> tuple[WhipSession, TestPatternTrack]:
        track = TestPatternTrack()
        url, token = self.push(stream)
        session = await publish(url, token, track, transport=self.transport)
        self.handles.append(session)
        return session, track

    async def play(self, stream: str = STREAM) -> WhepSession:
        url, token = self.watch(stream)
        session = await play(url, token, transport=self.transport)
        self.handles.append(session)
        return session


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = Clock()
    events = Events()
    provider = WebRTCProvider(
        public_url=BASE, keys=StreamKeys("webrtc-test-secret"), sink=events, clock=clock, connect_timeout=30
    )
    transport = httpx.ASGITransport(app=whip_app(provider))
    r = Rig(provider, events, clock, transport)
    try:
        yield r
    finally:
        for handle in r.handles:
            with contextlib.suppress(Exception):
                await handle.close()
        await provider.close()


async def _refusal(call: Callable[[], Awaitable[object]]) -> tuple[int, str]:
    with pytest.raises(WhipError) as caught:
        await call()
    error = caught.value
    assert isinstance(error.body, dict), error.body
    code = error.body["error"]["code"]
    assert str(error.status) in str(error) and code in str(error)  # the message says what came back
    return error.status, code


async def _ended(session: WhepSession) -> None:
    """The viewer's track ends (the relay stops) and its connection closes."""
    async with asyncio.timeout(MEDIA_TIMEOUT):
        with pytest.raises(MediaStreamError):
            while True:
                await session.track.recv()
        await session.wait_closed()


def _luma(frame: VideoFrame, x: int, y: int) -> int:
    """The Y value of one pixel of a decoded frame."""
    plane = frame.reformat(format="yuv420p").planes[0]
    return bytes(plane)[y * plane.line_size + x]


# --- media


async def test_one_publisher_two_viewers_receive_the_test_pattern(rig: Rig) -> None:
    whip, track = await rig.publish()
    started = await rig.events.wait(StreamEventKind.STARTED)
    assert [(e.stream, e.name) for e in started] == [(STREAM, "publish")]
    viewers = [await rig.play(), await rig.play()]

    async with asyncio.timeout(MEDIA_TIMEOUT):
        received = await asyncio.gather(*(v.frames(5) for v in viewers))
        await whip.wait_connected()
    for frames in received:
        assert len(frames) == 5
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        assert len({f.pts for f in frames}) == 5
        # the picture made it through: the clock's black box is dark, the white bar left of it is bright
        top, _, left, _ = clock_box(320, 240)
        last = frames[-1]
        assert _luma(last, left + 3, top + 3) < 60
        assert _luma(last, 10, 10) > 120
    assert track.frames_sent >= 5

    sessions = rig.provider.sessions(STREAM)
    assert [s.role for s in sessions] == [Role.PUBLISHER, Role.VIEWER, Role.VIEWER]
    assert len({s.id for s in sessions}) == 3
    assert all(len(s.id) >= 32 for s in sessions)
    # the viewers got frames, so the publisher's media reached the server and went out to both of them
    assert [rig.provider.connection_state(s.id) for s in sessions] == ["connected"] * 3


async def test_force_stop_closes_the_publisher_and_every_viewer(rig: Rig) -> None:
    whip, _ = await rig.publish()
    viewers = [await rig.play(), await rig.play()]
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await asyncio.gather(*(v.frames(2) for v in viewers))

    await rig.provider.force_stop(STREAM)

    assert rig.provider.sessions(STREAM) == []
    stopped = rig.events.of(StreamEventKind.STOPPED)  # delivered before force_stop returned
    assert [(e.stream, e.name, e.payload["reason"]) for e in stopped] == [(STREAM, "unpublish", "force_stop")]
    tag = rig.events.of(StreamEventKind.STARTED)[0].payload["session"]
    assert stopped[0].event_id == f"webrtc-{tag}-unpublish"
    for viewer in viewers:
        await _ended(viewer)
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await whip.wait_closed()
    assert {h.connection_state for h in [whip, *viewers]} <= {"closed", "failed"}

    await rig.provider.force_stop(STREAM)  # idempotent: nothing more happens
    assert len(rig.events.of(StreamEventKind.STOPPED)) == 1
    status, code = await _refusal(rig.play)
    assert (status, code) == (404, "stream_not_live")


async def test_deleting_the_publisher_ends_it_and_its_viewers(rig: Rig) -> None:
    whip, _ = await rig.publish()
    viewer = await rig.play()
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await viewer.frames(1)

    await whip.close()  # DELETE of the Location, then the client's own peer connection closes

    stopped = await rig.events.wait(StreamEventKind.STOPPED)
    assert [e.payload["reason"] for e in stopped] == ["deleted"]
    assert rig.provider.sessions(STREAM) == []
    await _ended(viewer)
    # the stream is free again: a new publisher is taken
    again, _ = await rig.publish()
    assert [s.role for s in rig.provider.sessions(STREAM)] == [Role.PUBLISHER]
    assert len(rig.events.of(StreamEventKind.STARTED)) == 2
    await again.close()


async def test_deleting_a_viewer_leaves_the_stream_up(rig: Rig) -> None:
    await rig.publish()
    leaving, staying = await rig.play(), await rig.play()
    await leaving.close()
    assert [s.role for s in rig.provider.sessions(STREAM)] == [Role.PUBLISHER, Role.VIEWER]
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await staying.frames(3)
    assert rig.events.of(StreamEventKind.STOPPED) == []


async def test_a_publisher_that_hangs_up_without_delete_is_stopped(rig: Rig) -> None:
    whip, _ = await rig.publish()
    async with asyncio.timeout(MEDIA_TIMEOUT):
        await whip.wait_connected()
    await whip.pc.close()  # DTLS close, no DELETE
    stopped = await rig.events.wait(StreamEventKind.STOPPED)
    assert [e.payload["reason"] for e in stopped] == ["connection_closed"]
    assert rig.provider.sessions(STREAM) == []


async def test_delete_of_an_unknown_or_foreign_session_is_404(rig: Rig) -> None:
    whip, _ = await rig.publish()
    async with httpx.AsyncClient(transport=rig.transport, base_url=BASE) as client:
        unknown = await client.delete(f"/media/whip/{STREAM}/not-a-session")
        other_stream = await client.delete(whip.location.replace(STREAM, "room-43"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "session_not_found")
    assert other_stream.status_code == 404
    assert len(rig.provider.sessions(STREAM)) == 1


# --- admission


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda rig: None, "stream_key_missing"),
        (lambda rig: "12345-deadbeef", "stream_key_invalid"),
        (lambda rig: rig.push("room-43")[1], "stream_key_invalid"),  # another stream's key
        (lambda rig: rig.watch()[1], "stream_key_invalid"),  # a play token cannot publish
        (lambda rig: rig.push(ttl=timedelta(minutes=-1))[1], "stream_key_expired"),
    ],
    ids=["absent", "garbage", "other-stream", "play-token", "expired"],
)
async def test_whip_refuses_a_bad_bearer(
    rig: Rig, make_token: Callable[[Rig], str | None], code: str
) -> None:
    url, _ = rig.push()
    status, got = await _refusal(
        lambda: publish(url, make_token(rig), TestPatternTrack(), transport=rig.transport)
    )
    assert (status, got) == (403, code)
    assert rig.provider.sessions(STREAM) == []
    assert rig.events.seen == []


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda rig: None, "stream_key_missing"),
        (lambda rig: "12345-deadbeef", "stream_key_invalid"),
        (lambda rig: rig.watch("room-43")[1], "stream_key_invalid"),  # another stream's token
        (lambda rig: rig.push()[1], "stream_key_invalid"),  # a push key is not a play token
        (lambda rig: rig.watch(ttl=timedelta(minutes=-1))[1], "stream_key_expired"),
    ],
    ids=["absent", "garbage", "other-stream", "push-key", "expired"],
)
async def test_whep_refuses_a_bad_bearer(
    rig: Rig, make_token: Callable[[Rig], str | None], code: str
) -> None:
    await rig.publish()  # the stream is live: the refusal is the token's
    url, _ = rig.watch()
    status, got = await _refusal(lambda: play(url, make_token(rig), transport=rig.transport))
    assert (status, got) == (403, code)
    assert [s.role for s in rig.provider.sessions(STREAM)] == [Role.PUBLISHER]


async def test_a_key_expires_with_the_clock(rig: Rig) -> None:
    url, token = rig.push(ttl=timedelta(minutes=5))
    rig.clock.now += timedelta(minutes=5)
    status, code = await _refusal(lambda: publish(url, token, TestPatternTrack(), transport=rig.transport))
    assert (status, code) == (403, "stream_key_expired")


async def test_play_without_a_publisher_is_refused(rig: Rig) -> None:
    status, code = await _refusal(rig.play)
    assert (status, code) == (404, "stream_not_live")


async def test_a_second_publisher_is_refused(rig: Rig) -> None:
    await rig.publish()
    status, code = await _refusal(rig.publish)
    assert (status, code) == (409, "publisher_live")
    assert len(rig.provider.sessions(STREAM)) == 1
    assert len(rig.events.of(StreamEventKind.STARTED)) == 1


@pytest.mark.parametrize(
    "sdp",
    ["", "not sdp at all", "v=0\r\nm=video x\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"],
    ids=["empty", "text", "broken-media-line", "no-media"],
)
async def test_an_offer_that_is_not_sdp_is_invalid_input(rig: Rig, sdp: str) -> None:
    _, token = rig.push()
    with pytest.raises(InvalidInput):
        await rig.provider.publish(STREAM, sdp, token)
    assert rig.provider.sessions(STREAM) == []
    assert rig.events.seen == []


async def test_a_refusing_sink_refuses_the_publisher() -> None:
    async def refuse(event: StreamEvent) -> None:
        raise NotFound("stream", event.stream)

    provider = WebRTCProvider(public_url=BASE, keys=StreamKeys("k"), sink=refuse, clock=Clock())
    transport = httpx.ASGITransport(app=whip_app(provider))
    creds = provider.push_credentials(STREAM, Clock()(), timedelta(hours=1))
    try:
        status, code = await _refusal(
            lambda: publish(creds.url, creds.bearer_token, TestPatternTrack(), transport=transport)
        )
        assert (status, code) == (404, "not_found")
        assert provider.sessions(STREAM) == []
    finally:
        await provider.close()


# --- the provider's other duties


def test_credentials_urls_and_callbacks(rig: Rig) -> None:
    provider = rig.provider
    creds = provider.push_credentials(STREAM, rig.clock(), timedelta(minutes=30))
    assert creds.protocol == "whip"
    assert creds.url == creds.server == f"{BASE}/media/whip/{STREAM}"
    assert creds.stream_key == ""
    assert creds.expires_at == rig.clock() + timedelta(minutes=30)
    assert creds.bearer_token is not None
    assert provider.keys.verify(STREAM, creds.bearer_token, rig.clock()) == creds.expires_at
    assert provider.pull_urls(STREAM).as_dict() == {"webrtc": f"{BASE}/media/whep/{STREAM}"}
    assert (provider.name, provider.admits_by_answer, provider.has_callbacks) == ("webrtc", True, False)
    with pytest.raises(InvalidCallback):
        provider.parse_callback(CallbackRequest("POST", {}, {}, b"call=publish&name=room-42"), rig.clock())
    with pytest.raises(InvalidInput):
        provider.play_token("play:room-42", rig.clock())


async def test_no_replays_and_a_closed_provider_takes_nothing(rig: Rig) -> None:
    event = StreamEvent(StreamEventKind.RECORDING_READY, STREAM, rig.clock(), "record", recording="/x.flv")
    assert await rig.provider.prepare_replay(event, want_cover=True) is None
    await rig.publish()
    await rig.provider.close()
    assert [e.payload["reason"] for e in rig.events.of(StreamEventKind.STOPPED)] == ["shutdown"]
    status, code = await _refusal(rig.publish)
    assert (status, code) == (503, "media_error")
