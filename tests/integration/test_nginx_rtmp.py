"""The nginx-rtmp provider against a real nginx (Debian's RTMP module) and real ffmpeg pushes.

Each test renders a config into its own prefix with free ports, starts a callback server (Starlette on
uvicorn, in the test's event loop) that hands every callback to ``parse_callback`` and answers 403 on
StreamKeyRefused as the HTTP layer does, and starts nginx. Real processes are polled with timeouts.

Without nginx, the module, ffmpeg or ffprobe the module is skipped, except under CI (``CI=true``), where
that fails: ``scripts/install-media.sh`` installs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from media import ffmpeg as ff
from media.keys import StreamKeys
from media.nginx_config import NginxLayout, NginxProcess
from media.nginx_rtmp import NginxRtmpProvider
from media.provider import CallbackRequest, MediaError, StreamEvent, StreamEventKind, StreamKeyRefused
from tests.e2e.channel import free_port
from tests.media_support import exits_within, skip_without_media_tools, tools_present

skip_without_media_tools()

CALLBACK_PATH = "/media/callbacks/nginx-rtmp"
STREAM = "room-7"


@pytest.fixture(autouse=True)
def _tools_present() -> None:
    tools_present()


@dataclass
class Rig:
    layout: NginxLayout
    provider: NginxRtmpProvider
    logs: Path
    events: list[StreamEvent] = field(default_factory=list)
    refused: list[StreamKeyRefused] = field(default_factory=list)
    pushes: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def push(self, url: str, seconds: float | None = None) -> asyncio.subprocess.Process:
        proc = await ff.push_test_stream(url, seconds, log=self.logs / f"push-{len(self.pushes)}.log")
        self.pushes.append(proc)
        return proc

    def kinds(self, stream: str = STREAM) -> list[StreamEventKind]:
        return [e.kind for e in self.events if e.stream == stream]

    def diagnostics(self) -> str:
        texts = [
            f"events: {[(e.stream, e.name) for e in self.events]}",
            f"refused: {[e.message for e in self.refused]}",
        ]
        for log in sorted(self.logs.glob("*.log")) + sorted((self.layout.prefix / "logs").glob("*.log")):
            texts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(texts)


async def wait_until(check: Callable[[], bool], seconds: float, what: str, rig: Rig) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}\n{rig.diagnostics()}")
        await asyncio.sleep(0.05)


def callback_app(rig_ref: list[Rig]) -> Starlette:
    async def callback(request: Request) -> Response:
        rig = rig_ref[0]
        cb = CallbackRequest(
            method=request.method,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        try:
            event = rig.provider.parse_callback(cb, datetime.now(UTC))
        except StreamKeyRefused as e:
            rig.refused.append(e)
            return Response(status_code=403)
        rig.events.append(event)
        return Response(status_code=200)

    return Starlette(routes=[Route(CALLBACK_PATH, callback, methods=["POST"])])


@contextlib.asynccontextmanager
async def callback_server(app: Starlette) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    rig_ref: list[Rig] = []
    async with callback_server(callback_app(rig_ref)) as cb_port:
        layout = NginxLayout.under(
            tmp_path / "nginx",
            f"http://127.0.0.1:{cb_port}{CALLBACK_PATH}",
            rtmp_port=free_port(),
            http_port=free_port(),
        )
        provider = NginxRtmpProvider(
            keys=StreamKeys("integration-secret"),
            rtmp_url=layout.rtmp_url,
            http_url=layout.http_url,
            replay_dir=layout.replay_dir,
            record_dir=layout.record_dir,
        )
        logs = tmp_path / "logs"
        logs.mkdir()
        rig = Rig(layout=layout, provider=provider, logs=logs)
        rig_ref.append(rig)
        nginx = NginxProcess(layout)
        try:
            await nginx.start()
            yield rig
        finally:
            for proc in rig.pushes:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await nginx.stop()
            await provider.close()


async def test_pushes_with_bad_keys_are_refused(rig: Rig) -> None:
    now = datetime.now(UTC)
    good_elsewhere = rig.provider.push_credentials("room-8", now, timedelta(hours=1))
    good = rig.provider.push_credentials(STREAM, now, timedelta(hours=1))
    expired = rig.provider.push_credentials(STREAM, now - timedelta(hours=2), timedelta(hours=1))
    urls = {
        "missing": f"{rig.layout.rtmp_url}/{STREAM}",
        "another stream's key": f"{rig.layout.rtmp_url}/{STREAM}?{good_elsewhere.url.partition('?')[2]}",
        "tampered": good.url[:-1] + ("0" if good.url[-1] != "0" else "1"),
        "expired": expired.url,
    }
    started = time.monotonic()
    procs = {what: await rig.push(url, seconds=20) for what, url in urls.items()}
    for what, proc in procs.items():
        assert await exits_within(proc, 5), f"{what}: the publisher was not dropped\n{rig.diagnostics()}"
        assert proc.returncode != 0
    assert time.monotonic() - started < 5
    assert StreamEventKind.STARTED not in rig.kinds()
    assert sorted(e.reason for e in rig.refused) == ["expired", "invalid", "invalid", "missing"]
    assert all(STREAM in e.message for e in rig.refused)
    assert not list(rig.layout.hls_dir.glob(f"{STREAM}*"))


async def test_live_push_force_stop_and_replay(rig: Rig) -> None:
    provider = rig.provider
    creds = provider.push_credentials(STREAM, datetime.now(UTC), timedelta(minutes=10))
    pull = provider.pull_urls(STREAM)
    assert pull.hls == f"{rig.layout.http_url}/hls/{STREAM}.m3u8" and pull.flv is None
    proc = await rig.push(creds.url)

    await wait_until(lambda: StreamEventKind.STARTED in rig.kinds(), 10, "stream.started", rig)
    started = next(e for e in rig.events if e.kind is StreamEventKind.STARTED)
    assert started.name == "publish" and "key" not in started.payload
    assert creds.stream_key.partition("key=")[2] not in str(started.payload)

    async with httpx.AsyncClient(timeout=5) as http:
        playlist = ""
        deadline = time.monotonic() + 15
        while ".ts" not in playlist:
            if time.monotonic() > deadline:
                pytest.fail(f"no HLS playlist with a fragment\n{rig.diagnostics()}")
            await asyncio.sleep(0.2)
            r = await http.get(pull.hls)
            playlist = r.text if r.status_code == 200 else ""
        assert r.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert pull.hls is not None
        live = await ff.probe(pull.hls)
        assert ff.has_video(live)
        assert {s["codec_name"] for s in live["streams"]} >= {"h264", "aac"}

        await provider.force_stop(STREAM)
        assert await exits_within(proc, 6), f"publisher still up after force_stop\n{rig.diagnostics()}"
        await wait_until(
            lambda: {StreamEventKind.STOPPED, StreamEventKind.RECORDING_READY} <= set(rig.kinds()),
            10,
            "stream.stopped and recording.ready",
            rig,
        )
        await provider.force_stop(STREAM)  # idempotent: nothing left to drop

        ready = next(e for e in rig.events if e.kind is StreamEventKind.RECORDING_READY)
        assert ready.recording is not None
        assert Path(ready.recording).parent == rig.layout.record_dir
        replay = await provider.prepare_replay(ready, want_cover=True)
        assert replay is not None, rig.diagnostics()
        stem = Path(ready.recording).stem
        assert replay.hls == f"{rig.layout.http_url}/replays/{STREAM}/{stem}/index.m3u8"
        assert replay.duration_s is not None and replay.duration_s > 1

        vod = await http.get(replay.hls)
        assert vod.status_code == 200 and "#EXT-X-PLAYLIST-TYPE:VOD" in vod.text
        assert "#EXT-X-ENDLIST" in vod.text
        info = await ff.probe(replay.hls)
        duration = ff.duration_of(info)
        assert duration is not None and duration > 0

        assert replay.cover is not None
        cover_file = rig.layout.replay_dir / STREAM / stem / "cover.jpg"
        assert cover_file.read_bytes()[:2] == b"\xff\xd8"
        cover = await http.get(replay.cover)
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"

    # a recording that never was makes no replay
    gone = StreamEvent(
        kind=StreamEventKind.RECORDING_READY,
        stream=STREAM,
        at=datetime.now(UTC),
        name="record_done",
        recording=str(rig.layout.record_dir / f"{STREAM}-1.flv"),
    )
    assert await provider.prepare_replay(gone, want_cover=True) is None


async def test_a_second_nginx_on_taken_ports_is_refused(rig: Rig) -> None:
    with pytest.raises(MediaError, match="already taken"):
        await NginxProcess(rig.layout).start()
