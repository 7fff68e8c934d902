"""The Aliyun and Tencent media providers: their callbacks verified as the vendors sign them, and their
stream-cutting APIs called through local stand-ins that check the signatures (tests/media_fakes.py)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from media.aliyun import AliyunLiveProvider, canonical_query, rpc_signature
from media.provider import InvalidCallback, MediaError, Replay, StreamEvent, StreamEventKind
from media.tencent import TencentLiveProvider, tc3_authorization
from tests.media_fakes import (
    aliyun_record_callback,
    aliyun_stream_callback,
    fake_aliyun_live,
    fake_tencent_live,
    tencent_callback,
    tencent_push_event,
    tencent_record_event,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
PUSH = "push.example.com"
NOTIFY = "notify-key-123"
CALLBACK_HOST = "shop.example.com"


def at_now() -> datetime:
    return NOW


def counter_nonce() -> Callable[[], str]:
    count = itertools.count(1)
    return lambda: f"nonce-{next(count)}"


# --- Aliyun ---------------------------------------------------------------------------------------------


@pytest.fixture
def aliyun_fake() -> Starlette:
    return fake_aliyun_live({"LTAI-test": "secret-test"}, at_now)


def make_aliyun(app: Starlette | None = None, **kwargs: Any) -> AliyunLiveProvider:
    options: dict[str, Any] = {
        "push_domain": PUSH,
        "play_domain": "play.example.com",
        "push_auth_key": "push-key",
        "notify_auth_key": NOTIFY,
        "access_key_id": "LTAI-test",
        "access_key_secret": "secret-test",
        "api_endpoint": "https://live.aliyuncs.com",
        "record_base_url": "https://records.example.com",
        "clock": at_now,
        "nonce": counter_nonce(),
        "transport": httpx.ASGITransport(app=app) if app is not None else None,
        **kwargs,
    }
    return AliyunLiveProvider(**options)


@pytest.fixture
async def aliyun(aliyun_fake: Starlette) -> AsyncIterator[AliyunLiveProvider]:
    provider = make_aliyun(aliyun_fake)
    yield provider
    await provider.close()


def test_aliyun_publish_callback_is_a_start(aliyun: AliyunLiveProvider) -> None:
    request = aliyun_stream_callback(
        action="publish",
        stream="room-7",
        push_domain=PUSH,
        key=NOTIFY,
        timestamp=TS,
        usrargs="auth_key=1790000000-0-0-0123456789abcdef0123456789abcdef&foo=bar",
    )
    event = aliyun.parse_callback(request, NOW)
    assert (event.kind, event.stream, event.name, event.at) == (
        StreamEventKind.STARTED,
        "room-7",
        "publish",
        NOW,
    )
    assert event.event_id == f"publish:room-7:{TS}"
    assert event.payload["ip"] == "203.0.113.7"
    assert event.payload["usrargs"] == "auth_key=<redacted>&foo=bar"


def test_aliyun_publish_done_callback_is_a_stop(aliyun: AliyunLiveProvider) -> None:
    request = aliyun_stream_callback(
        action="publish_done", stream="room-7", push_domain=PUSH, key=NOTIFY, timestamp=TS
    )
    event = aliyun.parse_callback(request, NOW)
    assert (event.kind, event.name, event.event_id) == (
        StreamEventKind.STOPPED,
        "publish_done",
        f"publish_done:room-7:{TS}",
    )


def test_aliyun_push_under_another_app_path_is_not_the_rooms_stream(aliyun: AliyunLiveProvider) -> None:
    request = aliyun_stream_callback(
        action="publish", stream="room-7", push_domain=PUSH, key=NOTIFY, timestamp=TS, app_name="other"
    )
    assert aliyun.parse_callback(request, NOW).kind is StreamEventKind.OTHER


@pytest.mark.parametrize(
    "tamper",
    [
        {"key": "not-the-notify-key"},
        {"push_domain": "play.example.com"},  # signed for another domain than our push domain
        {"signature": "0" * 32},
    ],
)
def test_aliyun_stream_callback_with_a_bad_signature_is_refused(
    aliyun: AliyunLiveProvider, tamper: dict[str, str]
) -> None:
    options: dict[str, Any] = {
        "action": "publish",
        "stream": "room-7",
        "push_domain": PUSH,
        "key": NOTIFY,
        "timestamp": TS,
    }
    request = aliyun_stream_callback(**{**options, **tamper})
    with pytest.raises(InvalidCallback, match="signature does not match"):
        aliyun.parse_callback(request, NOW)


def test_aliyun_signature_covers_domain_and_time_only(
    aliyun: AliyunLiveProvider,
) -> None:
    # the vendor signs only domain and timestamp: the fields are trusted once the signature holds
    request = aliyun_stream_callback(
        action="publish", stream="room-8", push_domain=PUSH, key=NOTIFY, timestamp=TS
    )
    assert aliyun.parse_callback(request, NOW).stream == "room-8"


@pytest.mark.parametrize(("offset", "accepted"), [(-299, True), (299, True), (-301, False), (301, False)])
def test_aliyun_stale_callbacks_are_refused(aliyun: AliyunLiveProvider, offset: int, accepted: bool) -> None:
    request = aliyun_stream_callback(
        action="publish", stream="room-7", push_domain=PUSH, key=NOTIFY, timestamp=TS + offset
    )
    if accepted:
        assert aliyun.parse_callback(request, NOW).kind is StreamEventKind.STARTED
    else:
        with pytest.raises(InvalidCallback, match="too far from now"):
            aliyun.parse_callback(request, NOW)


def test_aliyun_callback_without_signature_headers_is_refused(aliyun: AliyunLiveProvider) -> None:
    signed = aliyun_stream_callback(
        action="publish", stream="room-7", push_domain=PUSH, key=NOTIFY, timestamp=TS
    )
    unsigned = type(signed)(method="GET", query=signed.query, headers={}, body=b"")
    with pytest.raises(InvalidCallback, match="without ALI-LIVE-TIMESTAMP"):
        aliyun.parse_callback(unsigned, NOW)


RECORD_FILE = {
    "domain": "play.example.com",
    "app": "live",
    "stream": "room-7",
    "uri": "live/room-7/0_2026-11-24-11:00:00_2026-11-24-12:00:00.m3u8",
    "duration": 3600.5,
    "start_time": TS - 3600,
    "stop_time": TS,
}


def test_aliyun_recording_callback_is_a_recording_ready(aliyun: AliyunLiveProvider) -> None:
    request = aliyun_record_callback(RECORD_FILE, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS)
    event = aliyun.parse_callback(request, NOW)
    assert (event.kind, event.stream, event.name) == (
        StreamEventKind.RECORDING_READY,
        "room-7",
        "record_file",
    )
    assert event.recording == (
        "https://records.example.com/live/room-7/0_2026-11-24-11:00:00_2026-11-24-12:00:00.m3u8"
    )
    assert event.event_id == f"record:{RECORD_FILE['uri']}"
    assert event.payload["duration"] == 3600.5


def test_aliyun_recording_callback_signed_for_the_configured_callback_domain(aliyun_fake: Starlette) -> None:
    provider = make_aliyun(aliyun_fake, callback_domain=CALLBACK_HOST)
    request = aliyun_record_callback(
        RECORD_FILE, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS, send_host=False
    )
    assert provider.parse_callback(request, NOW).kind is StreamEventKind.RECORDING_READY
    forged = aliyun_record_callback(RECORD_FILE, callback_host="evil.example.com", key=NOTIFY, timestamp=TS)
    with pytest.raises(InvalidCallback, match="signature does not match"):
        provider.parse_callback(forged, NOW)


def test_aliyun_recording_callback_with_a_bad_signature_or_old_timestamp_is_refused(
    aliyun: AliyunLiveProvider,
) -> None:
    with pytest.raises(InvalidCallback, match="signature does not match"):
        aliyun.parse_callback(
            aliyun_record_callback(RECORD_FILE, callback_host=CALLBACK_HOST, key="x", timestamp=TS), NOW
        )
    old = aliyun_record_callback(RECORD_FILE, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS - 3600)
    with pytest.raises(InvalidCallback, match="too far from now"):
        aliyun.parse_callback(old, NOW)


def test_aliyun_recording_status_callback_is_kept_but_not_acted_on(aliyun: AliyunLiveProvider) -> None:
    body = {"domain": "play.example.com", "app": "live", "stream": "room-7", "event": "record_started"}
    event = aliyun.parse_callback(
        aliyun_record_callback(body, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS), NOW
    )
    assert (event.kind, event.name, event.recording) == (StreamEventKind.OTHER, "record_started", None)


def test_aliyun_recording_callback_without_stream_is_refused(aliyun: AliyunLiveProvider) -> None:
    body = {k: v for k, v in RECORD_FILE.items() if k != "stream"}
    with pytest.raises(InvalidCallback, match="names no stream"):
        aliyun.parse_callback(
            aliyun_record_callback(body, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS), NOW
        )


async def test_aliyun_prepare_replay_plays_the_recorded_playlist(aliyun: AliyunLiveProvider) -> None:
    event = aliyun.parse_callback(
        aliyun_record_callback(RECORD_FILE, callback_host=CALLBACK_HOST, key=NOTIFY, timestamp=TS), NOW
    )
    assert await aliyun.prepare_replay(event, want_cover=True) == Replay(
        hls="https://records.example.com/live/room-7/0_2026-11-24-11:00:00_2026-11-24-12:00:00.m3u8",
        cover=None,
        duration_s=3600.5,
    )


@pytest.mark.parametrize(
    ("recording", "payload"),
    [
        (None, {}),
        ("None", {}),  # what the stream service rebuilds from a record without one
        ("https://records.example.com/live/room-7/a.flv", {}),  # not a playlist
        ("https://records.example.com/live/room-7/a.m3u8", {"duration": 0}),  # nothing recorded
    ],
)
async def test_aliyun_prepare_replay_without_a_playable_recording(
    aliyun: AliyunLiveProvider, recording: str | None, payload: dict[str, Any]
) -> None:
    event = StreamEvent(
        StreamEventKind.RECORDING_READY, "room-7", NOW, "record_file", recording=recording, payload=payload
    )
    assert await aliyun.prepare_replay(event, want_cover=False) is None


async def test_aliyun_force_stop_forbids_the_stream(
    aliyun: AliyunLiveProvider, aliyun_fake: Starlette
) -> None:
    await aliyun.force_stop("room-7")
    assert aliyun_fake.state.forbidden == {(PUSH, "live", "room-7"): "2026-12-01T12:00:00Z"}
    action, params = aliyun_fake.state.calls[-1]
    assert action == "ForbidLiveStream"
    assert params["LiveStreamType"] == "publisher"
    assert params["Timestamp"] == "2026-11-24T12:00:00Z"
    assert (params["Format"], params["Version"], params["SignatureMethod"]) == (
        "JSON",
        "2016-11-01",
        "HMAC-SHA1",
    )


async def test_aliyun_force_stop_twice_is_fine(aliyun: AliyunLiveProvider, aliyun_fake: Starlette) -> None:
    await aliyun.force_stop("room-7")
    await aliyun.force_stop("room-7")
    assert list(aliyun_fake.state.forbidden) == [(PUSH, "live", "room-7")]


async def test_aliyun_forbid_without_end(aliyun_fake: Starlette) -> None:
    provider = make_aliyun(aliyun_fake, forbid_for=None)
    await provider.force_stop("room-7")
    await provider.close()
    assert aliyun_fake.state.forbidden == {(PUSH, "live", "room-7"): None}


async def test_aliyun_resume_lifts_the_forbid(aliyun: AliyunLiveProvider, aliyun_fake: Starlette) -> None:
    await aliyun.force_stop("room-7")
    await aliyun.resume("room-7")
    assert aliyun_fake.state.forbidden == {}
    assert aliyun_fake.state.resumed == [(PUSH, "live", "room-7")]
    assert aliyun_fake.state.calls[-1][0] == "ResumeLiveStream"


async def test_aliyun_wrong_secret_is_refused_by_the_fake(aliyun_fake: Starlette) -> None:
    provider = make_aliyun(aliyun_fake, access_key_secret="not-the-secret")
    with pytest.raises(MediaError) as caught:
        await provider.force_stop("room-7")
    await provider.close()
    assert caught.value.details["code"] == "SignatureDoesNotMatch"
    assert caught.value.details["status"] == 400
    assert aliyun_fake.state.forbidden == {}


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"access_key_id": "LTAI-unknown"}, "InvalidAccessKeyId.NotFound"),
        ({"clock": lambda: NOW - timedelta(hours=1)}, "InvalidTimeStamp.Expired"),
        ({"nonce": lambda: "always-the-same"}, "SignatureNonceUsed"),
    ],
)
async def test_aliyun_vendor_errors_become_media_errors(
    aliyun_fake: Starlette, options: dict[str, Any], code: str
) -> None:
    provider = make_aliyun(aliyun_fake, **options)
    with pytest.raises(MediaError) as caught:
        await provider.force_stop("room-7")
        await provider.force_stop("room-8")  # a reused nonce shows on the second call
    await provider.close()
    assert caught.value.details["code"] == code


async def test_aliyun_fake_refuses_a_request_changed_after_signing(aliyun_fake: Starlette) -> None:
    params = {
        "Action": "ForbidLiveStream",
        "DomainName": PUSH,
        "AppName": "live",
        "StreamName": "room-7",
        "LiveStreamType": "publisher",
        "Format": "JSON",
        "Version": "2016-11-01",
        "AccessKeyId": "LTAI-test",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "n-1",
        "Timestamp": "2026-11-24T12:00:00Z",
    }
    signature = rpc_signature(params, "secret-test")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=aliyun_fake), base_url="https://live.aliyuncs.com"
    ) as http:
        tampered = canonical_query({**params, "StreamName": "room-8", "Signature": signature})
        refused = await http.get(f"/?{tampered}")
        good = await http.get(f"/?{canonical_query({**params, 'Signature': signature})}")
    assert (refused.status_code, refused.json()["Code"]) == (400, "SignatureDoesNotMatch")
    assert good.status_code == 200
    assert aliyun_fake.state.forbidden == {(PUSH, "live", "room-7"): None}


async def test_aliyun_api_needs_credentials(aliyun_fake: Starlette) -> None:
    provider = make_aliyun(aliyun_fake, access_key_id="", access_key_secret="")
    with pytest.raises(MediaError, match="needs access_key_id"):
        await provider.force_stop("room-7")


async def test_aliyun_unreachable_api_is_a_media_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    provider = make_aliyun(transport=httpx.MockTransport(refuse))
    with pytest.raises(MediaError, match="no answer"):
        await provider.force_stop("room-7")
    await provider.close()


# --- Tencent --------------------------------------------------------------------------------------------

CB_KEY = "callback-key-456"
T = TS + 600  # the vendor's t: when the notice expires


@pytest.fixture
def tencent_fake() -> Starlette:
    return fake_tencent_live({"AKID-test": "secret-key-test"}, at_now)


def make_tencent(app: Starlette | None = None, **kwargs: Any) -> TencentLiveProvider:
    options: dict[str, Any] = {
        "push_domain": PUSH,
        "play_domain": "play.example.com",
        "push_key": "push-key",
        "callback_key": CB_KEY,
        "secret_id": "AKID-test",
        "secret_key": "secret-key-test",
        "region": "ap-guangzhou",
        "clock": at_now,
        "transport": httpx.ASGITransport(app=app) if app is not None else None,
        **kwargs,
    }
    return TencentLiveProvider(**options)


@pytest.fixture
async def tencent(tencent_fake: Starlette) -> AsyncIterator[TencentLiveProvider]:
    provider = make_tencent(tencent_fake)
    yield provider
    await provider.close()


def test_tencent_push_callback_is_a_start(tencent: TencentLiveProvider) -> None:
    request = tencent_callback(tencent_push_event(1, "room-7", domain=PUSH), key=CB_KEY, t=T)
    event = tencent.parse_callback(request, NOW)
    assert (event.kind, event.stream, event.name, event.at) == (StreamEventKind.STARTED, "room-7", "1", NOW)
    assert event.event_id == "2210464508206756938"
    assert event.payload["stream_param"] == "txSecret=<redacted>&txTime=5C271099"
    assert "sign" not in event.payload
    assert event.payload["t"] == T


def test_tencent_interruption_callback_is_a_stop(tencent: TencentLiveProvider) -> None:
    body = tencent_push_event(0, "room-7", domain=PUSH, sequence="2210464508206756999")
    event = tencent.parse_callback(tencent_callback(body, key=CB_KEY, t=T), NOW)
    assert (event.kind, event.name, event.event_id) == (StreamEventKind.STOPPED, "0", "2210464508206756999")
    assert event.payload["errmsg"] == "recv rtmp deleteStream"


def test_tencent_recording_callback_is_a_recording_ready(tencent: TencentLiveProvider) -> None:
    url = "https://1500000000.vod2.myqcloud.com/abc/def/playlist.m3u8"
    body = tencent_record_event("room-7", domain=PUSH, file_format="HLS", video_url=url)
    event = tencent.parse_callback(tencent_callback(body, key=CB_KEY, t=T), NOW)
    assert (event.kind, event.name, event.recording) == (StreamEventKind.RECORDING_READY, "100", url)
    assert event.event_id == "record:5285890781763144364"


def test_tencent_recording_callback_without_url_has_no_recording(tencent: TencentLiveProvider) -> None:
    body = tencent_record_event("room-7", domain=PUSH, file_format="HLS", video_url="")
    event = tencent.parse_callback(tencent_callback(body, key=CB_KEY, t=T), NOW)
    assert (event.kind, event.recording) == (StreamEventKind.RECORDING_READY, None)


def test_tencent_other_event_types_are_kept_but_not_acted_on(tencent: TencentLiveProvider) -> None:
    body = {**tencent_push_event(1, "room-7", domain=PUSH), "event_type": 200}  # a snapshot
    assert tencent.parse_callback(tencent_callback(body, key=CB_KEY, t=T), NOW).kind is StreamEventKind.OTHER


def test_tencent_push_under_another_app_path_is_not_the_rooms_stream(tencent: TencentLiveProvider) -> None:
    body = tencent_push_event(1, "room-7", domain=PUSH, app_name="other")
    assert tencent.parse_callback(tencent_callback(body, key=CB_KEY, t=T), NOW).kind is StreamEventKind.OTHER


def test_tencent_callback_with_a_bad_signature_is_refused(tencent: TencentLiveProvider) -> None:
    body = tencent_push_event(1, "room-7", domain=PUSH)
    for request in (
        tencent_callback(body, key="not-the-key", t=T),
        tencent_callback(body, key=CB_KEY, t=T, sign="0" * 32),
    ):
        with pytest.raises(InvalidCallback, match="signature does not match"):
            tencent.parse_callback(request, NOW)


def test_tencent_callback_whose_t_was_moved_is_refused(tencent: TencentLiveProvider) -> None:
    # t is signed: a replay with a later t does not verify
    request = tencent_callback(tencent_push_event(1, "room-7", domain=PUSH), key=CB_KEY, t=TS - 10)
    data = json.loads(request.body)
    data["t"] = T
    moved = type(request)(method="POST", query={}, headers=request.headers, body=json.dumps(data).encode())
    with pytest.raises(InvalidCallback, match="signature does not match"):
        tencent.parse_callback(moved, NOW)


@pytest.mark.parametrize(("t", "accepted"), [(TS + 1, True), (TS, True), (TS - 1, False)])
def test_tencent_expired_callbacks_are_refused(tencent: TencentLiveProvider, t: int, accepted: bool) -> None:
    request = tencent_callback(tencent_push_event(1, "room-7", domain=PUSH), key=CB_KEY, t=t)
    if accepted:
        assert tencent.parse_callback(request, NOW).kind is StreamEventKind.STARTED
    else:
        with pytest.raises(InvalidCallback, match="expired"):
            tencent.parse_callback(request, NOW)


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        ("GET", b"{}", "are POST"),
        ("POST", b"not json", "not JSON"),
        ("POST", b"[1, 2]", "not an object"),
        ("POST", b'{"event_type": 1, "stream_id": "room-7"}', "without a valid t"),
    ],
)
def test_tencent_malformed_callbacks_are_refused(
    tencent: TencentLiveProvider, method: str, body: bytes, message: str
) -> None:
    request = tencent_callback({}, key=CB_KEY, t=T)
    with pytest.raises(InvalidCallback, match=message):
        tencent.parse_callback(type(request)(method=method, query={}, headers={}, body=body), NOW)


async def test_tencent_force_stop_drops_then_forbids(
    tencent: TencentLiveProvider, tencent_fake: Starlette
) -> None:
    tencent_fake.state.live.add((PUSH, "live", "room-7"))
    await tencent.force_stop("room-7")
    assert [action for action, _ in tencent_fake.state.calls] == ["DropLiveStream", "ForbidLiveStream"]
    assert tencent_fake.state.live == set()
    assert tencent_fake.state.dropped == [(PUSH, "live", "room-7")]
    resume_time, reason = tencent_fake.state.forbidden[(PUSH, "live", "room-7")]
    assert resume_time == "2026-12-01T12:00:00Z"
    assert reason == "the room's stream was ended by the platform"


async def test_tencent_force_stop_of_a_stream_that_is_not_up(
    tencent: TencentLiveProvider, tencent_fake: Starlette
) -> None:
    await tencent.force_stop("room-7")
    await tencent.force_stop("room-7")
    assert list(tencent_fake.state.forbidden) == [(PUSH, "live", "room-7")]


async def test_tencent_resume_lifts_the_forbid(tencent: TencentLiveProvider, tencent_fake: Starlette) -> None:
    await tencent.force_stop("room-7")
    await tencent.resume("room-7")
    assert tencent_fake.state.forbidden == {}
    assert tencent_fake.state.resumed == [(PUSH, "live", "room-7")]


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"secret_key": "not-the-secret"}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKID-unknown"}, "AuthFailure.SecretIdNotFound"),
        ({"clock": lambda: NOW - timedelta(minutes=10)}, "AuthFailure.SignatureExpire"),
    ],
)
async def test_tencent_vendor_errors_become_media_errors(
    tencent_fake: Starlette, options: dict[str, Any], code: str
) -> None:
    provider = make_tencent(tencent_fake, **options)
    with pytest.raises(MediaError) as caught:
        await provider.force_stop("room-7")
    await provider.close()
    assert caught.value.details["code"] == code
    assert tencent_fake.state.dropped == [] and tencent_fake.state.forbidden == {}


async def test_tencent_fake_refuses_a_body_changed_after_signing(tencent_fake: Starlette) -> None:
    signed_body = b'{"AppName":"live","DomainName":"push.example.com","StreamName":"room-7"}'
    headers = {
        "Authorization": tc3_authorization(
            secret_id="AKID-test",
            secret_key="secret-key-test",
            service="live",
            host="live.tencentcloudapi.com",
            timestamp=TS,
            payload=signed_body,
        ),
        "Content-Type": "application/json; charset=utf-8",
        "X-TC-Action": "DropLiveStream",
        "X-TC-Timestamp": str(TS),
        "X-TC-Version": "2018-08-01",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tencent_fake), base_url="https://live.tencentcloudapi.com"
    ) as http:
        refused = await http.post("/", content=signed_body.replace(b"room-7", b"room-8"), headers=headers)
        good = await http.post("/", content=signed_body, headers=headers)
    assert refused.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert "Error" not in good.json()["Response"]
    assert tencent_fake.state.dropped == [(PUSH, "live", "room-7")]


async def test_tencent_api_needs_credentials(tencent_fake: Starlette) -> None:
    provider = make_tencent(tencent_fake, secret_id="")
    with pytest.raises(MediaError, match="needs secret_id"):
        await provider.force_stop("room-7")


async def test_tencent_prepare_replay(tencent: TencentLiveProvider) -> None:
    hls = tencent_record_event(
        "room-7", domain=PUSH, file_format="HLS", video_url="https://vod.example.com/a/playlist.m3u8"
    )
    event = tencent.parse_callback(tencent_callback(hls, key=CB_KEY, t=T), NOW)
    assert await tencent.prepare_replay(event, want_cover=True) == Replay(
        hls="https://vod.example.com/a/playlist.m3u8", cover=None, duration_s=3600.0
    )
    mp4 = tencent_record_event(
        "room-7", domain=PUSH, file_format="MP4", video_url="https://vod.example.com/a/f.mp4"
    )
    event = tencent.parse_callback(tencent_callback(mp4, key=CB_KEY, t=T), NOW)
    assert await tencent.prepare_replay(event, want_cover=False) is None
    empty = StreamEvent(StreamEventKind.RECORDING_READY, "room-7", NOW, "100", recording=None)
    assert await tencent.prepare_replay(empty, want_cover=False) is None
