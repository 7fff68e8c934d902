"""The nginx-rtmp config renders and passes ``nginx -t``; the provider reads callbacks, checks push keys,
drops publishers through the control endpoint, and makes no replay of a missing recording."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from media.keys import StreamKeys
from media.nginx_config import NginxLayout, NginxProcess, missing_tools, render_config
from media.nginx_rtmp import NginxRtmpProvider
from media.provider import (
    CallbackRequest,
    InvalidCallback,
    MediaError,
    StreamEvent,
    StreamEventKind,
    StreamKeyRefused,
)
from tests.support import IN_CI

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STREAM = "room-42"
CALLBACK = "http://127.0.0.1:8000/media/callbacks/nginx-rtmp"
# what nginx puts before the push URL's own query arguments (checked against nginx-rtmp 1.2.2)
COMMON = {
    "app": "live",
    "flashver": "FMLE/3.0 (compatible; Lavf59.27",
    "swfurl": "",
    "tcurl": "rtmp://127.0.0.1:1935/live",
    "pageurl": "",
    "addr": "127.0.0.1",
    "clientid": "3",
}


def layout_in(prefix: Path, user: str | None = None) -> NginxLayout:
    return NginxLayout.under(prefix, CALLBACK, rtmp_port=19350, http_port=18080, user=user)


def provider(tmp_path: Path, transport: httpx.AsyncBaseTransport | None = None) -> NginxRtmpProvider:
    return NginxRtmpProvider(
        keys=StreamKeys("unit-secret"),
        rtmp_url="rtmp://127.0.0.1:1935/live",
        http_url="http://127.0.0.1:8080/",
        replay_dir=tmp_path / "replays",
        record_dir=tmp_path / "recordings",
        transport=transport,
    )


def callback(fields: dict[str, str], raw_args: str = "") -> CallbackRequest:
    body = urlencode(fields) + (f"&{raw_args}" if raw_args else "")
    return CallbackRequest(
        method="POST",
        query={},
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=body.encode(),
    )


def key_args(p: NginxRtmpProvider, stream: str = STREAM, expires_in: timedelta = timedelta(hours=1)) -> str:
    """The query arguments of a push URL whose key expires ``expires_in`` after NOW."""
    return p.push_credentials(stream, NOW, expires_in).stream_key.partition("?")[2]


# --- config


def test_config_has_what_the_provider_relies_on(tmp_path: Path) -> None:
    layout = layout_in(tmp_path)
    conf = render_config(layout)
    root = tmp_path.resolve()
    for line in [
        "daemon off;",
        'load_module "/usr/lib/nginx/modules/ngx_rtmp_module.so";',
        f'pid "{root}/logs/nginx.pid";',
        f'error_log "{root}/logs/error.log" warn;',
        "listen 127.0.0.1:19350;",
        "listen 127.0.0.1:18080;",
        "application live {",
        "live on;",
        "record all;",
        f'record_path "{root}/media/recordings";',
        "record_unique on;",
        "hls on;",
        f'hls_path "{root}/media/hls";',
        "hls_fragment 2s;",
        "hls_playlist_length 10s;",
        "notify_method post;",
        f'alias "{root}/media/replays/";',
        "rtmp_control all;",
        "rtmp_stat all;",
    ]:
        assert line in conf, line
    for hook in ("on_publish", "on_publish_done", "on_play", "on_play_done", "on_done", "on_record_done"):
        assert f'{hook} "{CALLBACK}";' in conf
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f'{kind}_temp_path "{root}/temp/{kind}";' in conf
    assert layout.rtmp_url == "rtmp://127.0.0.1:19350/live"
    assert layout.http_url == "http://127.0.0.1:18080"


def test_config_refuses_unsafe_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http://"):
        render_config(NginxLayout.under(tmp_path, "https://example.invalid/cb"))
    with pytest.raises(ValueError, match="unsafe"):
        render_config(NginxLayout.under(tmp_path / 'a"b', CALLBACK))
    with pytest.raises(ValueError, match="unsafe"):
        render_config(NginxLayout.under(tmp_path, CALLBACK, app="live; evil"))
    with pytest.raises(ValueError, match="unsafe"):
        render_config(NginxLayout.under(tmp_path, CALLBACK + "?x=$remote_addr"))


def test_explicit_worker_user_is_written(tmp_path: Path) -> None:
    assert "user nobody nogroup;" in render_config(layout_in(tmp_path, user="nobody nogroup"))


@pytest.fixture
def nginx_present() -> Iterator[None]:
    missing = [m for m in missing_tools() if "ffmpeg" not in m and "ffprobe" not in m]
    if missing:
        if IN_CI:
            pytest.fail(f"CI must test the nginx config, but these are missing: {', '.join(missing)}")
        pytest.skip(f"nginx-rtmp missing ({', '.join(missing)}): run scripts/install-media.sh")
    yield


@pytest.mark.usefixtures("nginx_present")
def test_rendered_config_passes_nginx_t(tmp_path: Path) -> None:
    out = NginxProcess(layout_in(tmp_path / "with space")).check()
    assert "test is successful" in out


# --- credentials and URLs


def test_push_credentials_and_pull_urls(tmp_path: Path) -> None:
    p = provider(tmp_path)
    creds = p.push_credentials(STREAM, NOW, timedelta(minutes=30))
    key = StreamKeys("unit-secret").sign(STREAM, NOW + timedelta(minutes=30))
    assert creds.protocol == "rtmp"
    assert creds.server == "rtmp://127.0.0.1:1935/live"
    assert creds.stream_key == f"{STREAM}?key={key}"
    assert creds.url == f"rtmp://127.0.0.1:1935/live/{STREAM}?key={key}"
    assert creds.expires_at == NOW + timedelta(minutes=30)
    urls = p.pull_urls(STREAM)
    assert urls.as_dict() == {
        "rtmp": f"rtmp://127.0.0.1:1935/live/{STREAM}",
        "hls": f"http://127.0.0.1:8080/hls/{STREAM}.m3u8",
    }


# --- callbacks


def test_publish_with_a_good_key_starts_the_stream(tmp_path: Path) -> None:
    p = provider(tmp_path)
    args = key_args(p)
    fields = {**COMMON, "call": "publish", "name": STREAM, "type": "live"}
    event = p.parse_callback(callback(fields, args), NOW)
    assert event.kind is StreamEventKind.STARTED
    assert (event.stream, event.name, event.at, event.recording) == (STREAM, "publish", NOW, None)
    assert "key" not in event.payload
    assert event.payload["addr"] == "127.0.0.1" and event.payload["type"] == "live"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("", "missing"),
        ("key=", "missing"),
        ("uid=1", "missing"),
        ("key=nonsense", "invalid"),
        ("key=123-", "invalid"),
    ],
)
def test_publish_with_a_bad_key_is_refused(tmp_path: Path, args: str, reason: str) -> None:
    p = provider(tmp_path)
    with pytest.raises(StreamKeyRefused) as refused:
        p.parse_callback(callback({**COMMON, "call": "publish", "name": STREAM}, args), NOW)
    assert refused.value.reason == reason


def test_publish_with_a_tampered_or_foreign_key_is_refused(tmp_path: Path) -> None:
    p = provider(tmp_path)
    good = key_args(p)
    tampered = good[:-1] + ("0" if good[-1] != "0" else "1")
    expiry, _, mac = good.removeprefix("key=").partition("-")
    later = f"key={int(expiry) + 3600}-{mac}"  # the same MAC with a longer life
    for args in (tampered, later, key_args(p, "room-43")):
        with pytest.raises(StreamKeyRefused) as refused:
            p.parse_callback(callback({**COMMON, "call": "publish", "name": STREAM}, args), NOW)
        assert refused.value.reason == "invalid"


def test_publish_with_an_expired_key_is_refused(tmp_path: Path) -> None:
    p = provider(tmp_path)
    args = key_args(p, expires_in=timedelta(seconds=30))
    fields = {**COMMON, "call": "publish", "name": STREAM}
    assert p.parse_callback(callback(fields, args), NOW).kind is StreamEventKind.STARTED
    with pytest.raises(StreamKeyRefused) as refused:
        p.parse_callback(callback(fields, args), NOW + timedelta(seconds=30))
    assert refused.value.reason == "expired"


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        ("publish_done", StreamEventKind.STOPPED),
        ("play", StreamEventKind.OTHER),
        ("play_done", StreamEventKind.OTHER),
        ("done", StreamEventKind.OTHER),
        ("update", StreamEventKind.OTHER),
    ],
)
def test_report_callbacks_need_no_key(tmp_path: Path, call: str, kind: StreamEventKind) -> None:
    p = provider(tmp_path)
    event = p.parse_callback(callback({**COMMON, "call": call, "name": STREAM}, "key=whatever"), NOW)
    assert (event.kind, event.name, event.stream) == (kind, call, STREAM)
    assert "key" not in event.payload


def test_record_done_names_the_recording(tmp_path: Path) -> None:
    p = provider(tmp_path)
    path = str(tmp_path.resolve() / "recordings" / f"{STREAM}-1740830400.flv")
    fields = {**COMMON, "call": "record_done", "recorder": "", "name": STREAM, "path": path}
    event = p.parse_callback(callback(fields, "key=x&path=/etc/passwd&call=publish"), NOW)
    assert event.kind is StreamEventKind.RECORDING_READY
    assert event.recording == path  # nginx's own field, not the one the publisher appended
    assert event.payload["path"] == path and event.payload["call"] == "record_done"


def test_record_done_outside_the_recording_folder_is_refused(tmp_path: Path) -> None:
    p = provider(tmp_path)
    for path in ("/etc/passwd", str(tmp_path / "recordings" / ".." / "elsewhere.flv")):
        fields = {**COMMON, "call": "record_done", "name": STREAM, "path": path}
        with pytest.raises(InvalidCallback):
            p.parse_callback(callback(fields), NOW)
    with pytest.raises(InvalidCallback):
        p.parse_callback(callback({**COMMON, "call": "record_done", "name": STREAM}), NOW)


def test_appended_arguments_do_not_override_nginx_fields(tmp_path: Path) -> None:
    p = provider(tmp_path)
    event = p.parse_callback(
        callback({**COMMON, "call": "publish_done", "name": STREAM}, "call=publish&name=room-1"), NOW
    )
    assert (event.kind, event.stream) == (StreamEventKind.STOPPED, STREAM)


def test_callbacks_without_call_or_name_are_invalid(tmp_path: Path) -> None:
    p = provider(tmp_path)
    for fields in ({**COMMON, "name": STREAM}, {**COMMON, "call": "publish"}, {}):
        with pytest.raises(InvalidCallback):
            p.parse_callback(callback(fields), NOW)
    bad = CallbackRequest(method="POST", query={}, headers={}, body=b"\xff\xfe")
    with pytest.raises(InvalidCallback):
        p.parse_callback(bad, NOW)


def test_get_callbacks_are_read_from_the_query(tmp_path: Path) -> None:
    p = provider(tmp_path)
    request = CallbackRequest(method="GET", query={"call": "done", "name": STREAM}, headers={}, body=b"")
    assert p.parse_callback(request, NOW).kind is StreamEventKind.OTHER


# --- force_stop


async def test_force_stop_drops_the_publisher(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(200, text="1"), httpx.Response(200, text="0"), httpx.Response(404)])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    p = provider(tmp_path, httpx.MockTransport(handler))
    try:
        for _ in range(3):
            await p.force_stop(STREAM)
    finally:
        await p.close()
    assert [str(r.url) for r in seen] == [
        f"http://127.0.0.1:8080/control/drop/publisher?app=live&name={STREAM}"
    ] * 3
    assert {r.method for r in seen} == {"GET"}


async def test_force_stop_reports_failures(tmp_path: Path) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="boom")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for handler in (broken, unreachable):
        p = provider(tmp_path, httpx.MockTransport(handler))
        try:
            with pytest.raises(MediaError):
                await p.force_stop(STREAM)
        finally:
            await p.close()


# --- replays


async def test_missing_or_empty_recordings_make_no_replay(tmp_path: Path) -> None:
    p = provider(tmp_path)
    record_dir = tmp_path / "recordings"
    record_dir.mkdir()
    header_only = record_dir / f"{STREAM}-2.flv"
    header_only.write_bytes(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")
    (record_dir / f"{STREAM}-3.flv").write_bytes(b"")
    for name in (f"{STREAM}-1.flv", f"{STREAM}-2.flv", f"{STREAM}-3.flv"):
        event = StreamEvent(
            kind=StreamEventKind.RECORDING_READY,
            stream=STREAM,
            at=NOW,
            name="record_done",
            recording=str(record_dir / name),
        )
        assert await p.prepare_replay(event, want_cover=True) is None
    no_recording = StreamEvent(kind=StreamEventKind.STOPPED, stream=STREAM, at=NOW, name="publish_done")
    assert await p.prepare_replay(no_recording, want_cover=False) is None
    assert not (tmp_path / "replays").exists()
