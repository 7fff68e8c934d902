"""The self-hosted provider: our own nginx with the RTMP module (:mod:`media.nginx_config`), and ffmpeg.

Pushing: ``rtmp://HOST:PORT/live/{stream}?key={signed key}`` (an encoder asks for the server
``rtmp://HOST:PORT/live`` and the stream key ``{stream}?key=...``). The key is one of our :class:`StreamKeys`:
it names its expiry and is bound to the stream.

Callbacks: nginx posts every callback form-encoded to one URL (``layout.callback_url``); the field ``call``
names it (``publish``, ``publish_done``, ``play``, ``play_done``, ``done``, ``record_done``), ``name`` is the
stream, and the push URL's query arguments (``key=...``) are appended raw after nginx's own fields. nginx
puts its own fields first, so where a name appears twice the first is nginx's and later ones (a publisher
adding ``&call=...`` or ``&path=...`` to its push URL) are ignored.

Trust: the callbacks carry no signature (nginx-rtmp cannot sign them). Admission rests on the push key alone:
``publish`` is refused (:class:`StreamKeyRefused`, which the HTTP layer answers 403, and nginx drops the
publisher at once) unless the key verifies for that stream and has not expired. The other callbacks only
report; a forged ``publish_done`` or ``record_done`` could still end a stream's state or name a file, so the
HTTP layer should take callbacks only from nginx's address (loopback here) and keep the callback URL off the
public edge; with ``record_dir`` set, recordings outside that folder are refused as well.

Replays: ffmpeg remuxes the FLV recording (``-c copy``) into an HLS VOD under
``replay_dir/{stream}/{recording stem}/`` which the same nginx serves under ``/replays/``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from media import ffmpeg as ff
from media.keys import StreamKeys
from media.provider import (
    CallbackRequest,
    InvalidCallback,
    MediaError,
    PullUrls,
    PushCredentials,
    Replay,
    StreamEvent,
    StreamEventKind,
)

_KINDS = {
    "publish": StreamEventKind.STARTED,
    "publish_done": StreamEventKind.STOPPED,
    "record_done": StreamEventKind.RECORDING_READY,
}
# stream names and recording file stems that may become parts of a path or URL
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# an FLV file with nothing after its header (nginx writes one even when no frame arrived)
_FLV_HEADER_ONLY = 13


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _work_dir(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    work.chmod(0o755)  # mkdtemp makes it 0700; nginx workers may run as another user
    return work


def _swap_in(work: Path, final: Path) -> None:
    """Replace ``final`` (an earlier replay of the same recording, if any) by ``work``."""
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)


def _form(request: CallbackRequest) -> dict[str, str]:
    """The callback's fields, first occurrence of each name kept: the query string, then a form body."""
    pairs = list(request.query.items())
    if request.body:
        try:
            text = request.body.decode()
        except UnicodeDecodeError as e:
            raise InvalidCallback("nginx-rtmp callback body is not text") from e
        pairs += parse_qsl(text, keep_blank_values=True)
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


class NginxRtmpProvider:
    name = "nginx-rtmp"
    admits_by_answer = True
    has_callbacks = True

    def __init__(
        self,
        *,
        keys: StreamKeys,
        rtmp_url: str,
        http_url: str,
        replay_dir: str | Path,
        record_dir: str | Path | None = None,
        app: str = "live",
        transport: httpx.AsyncBaseTransport | None = None,
        ffmpeg: str = ff.FFMPEG,
        ffprobe: str = ff.FFPROBE,
        ffmpeg_timeout: float = 300.0,
        control_timeout: float = 5.0,
    ) -> None:
        """``rtmp_url``: the application's RTMP URL (``rtmp://127.0.0.1:1935/live``); ``http_url``: nginx's
        http base (``http://127.0.0.1:8080``: ``/hls/``, ``/replays/``, ``/control``); ``replay_dir``: the
        folder nginx serves as ``/replays/``; ``record_dir``: nginx's ``record_path`` (when given, recordings
        elsewhere are refused)."""
        self.keys = keys
        self.rtmp_url = rtmp_url.rstrip("/")
        self.http_url = http_url.rstrip("/")
        self.replay_dir = Path(replay_dir)
        self.record_dir = Path(record_dir).resolve() if record_dir is not None else None
        self.app = app
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.ffmpeg_timeout = ffmpeg_timeout
        self._transport = transport
        self._control_timeout = control_timeout
        self._client: httpx.AsyncClient | None = None

    # --- credentials and URLs

    def push_credentials(self, stream: str, now: datetime, ttl: timedelta) -> PushCredentials:
        expires_at = now + ttl
        stream_key = f"{stream}?{urlencode({'key': self.keys.sign(stream, expires_at)})}"
        return PushCredentials(
            protocol="rtmp",
            url=f"{self.rtmp_url}/{stream_key}",
            server=self.rtmp_url,
            stream_key=stream_key,
            expires_at=expires_at,
        )

    def pull_urls(self, stream: str) -> PullUrls:
        # nginx-rtmp has no HTTP-FLV
        return PullUrls(rtmp=f"{self.rtmp_url}/{stream}", hls=f"{self.http_url}/hls/{stream}.m3u8")

    # --- callbacks

    def parse_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        fields = _form(request)
        call = fields.get("call", "")
        stream = fields.get("name", "")
        if not call or not stream:
            raise InvalidCallback("nginx-rtmp callback without call or name")
        key = fields.pop("key", None)
        kind = _KINDS.get(call, StreamEventKind.OTHER)
        if kind is StreamEventKind.STARTED:
            self.keys.verify(stream, key, now)  # StreamKeyRefused: missing, invalid or expired
        recording = None
        if kind is StreamEventKind.RECORDING_READY:
            recording = fields.get("path") or None
            if recording is None:
                raise InvalidCallback(f"nginx-rtmp record_done for {stream} names no path")
            self._check_recording(Path(recording))
        return StreamEvent(kind=kind, stream=stream, at=now, name=call, recording=recording, payload=fields)

    def _check_recording(self, path: Path) -> None:
        if self.record_dir is not None and not path.resolve().is_relative_to(self.record_dir):
            raise InvalidCallback(f"recording {path} is outside the recording folder")

    # --- control

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.http_url, transport=self._transport, timeout=self._control_timeout
            )
        return self._client

    async def force_stop(self, stream: str) -> None:
        """Drop the publisher through nginx's control endpoint. nginx answers 200 with the number of clients
        it dropped (0 when the stream is not up: not an error); a 404 is taken the same way."""
        try:
            response = await self._http().get(
                "/control/drop/publisher", params={"app": self.app, "name": stream}
            )
        except httpx.HTTPError as e:
            raise MediaError(f"nginx control endpoint unreachable: {e!r}") from e
        if response.status_code != 404 and response.is_error:
            raise MediaError(
                f"nginx refused to drop {stream}: {response.status_code} {response.text[:200]}",
                details={"status": response.status_code},
            )

    # --- replays

    async def prepare_replay(self, event: StreamEvent, *, want_cover: bool) -> Replay | None:
        if not event.recording:
            return None
        source = Path(event.recording)
        self._check_recording(source)
        if await asyncio.to_thread(_size, source) <= _FLV_HEADER_ONLY:
            return None  # missing, or nothing arrived after the header
        stem = source.stem
        if not _SAFE.match(event.stream) or not _SAFE.match(stem):
            raise MediaError(f"unsafe stream or recording name for a replay: {event.stream!r}, {stem!r}")
        try:
            info = await ff.probe(source, ffprobe=self.ffprobe)
        except MediaError:
            return None  # not a file ffprobe can read: nothing was recorded that makes a replay
        if not info["streams"]:
            return None

        final = self.replay_dir / event.stream / stem
        # built beside the final folder and swapped in: a replay URL never shows a half-written playlist
        work = await asyncio.to_thread(_work_dir, final)
        try:
            playlist = await ff.to_hls_vod(source, work, ffmpeg=self.ffmpeg, time_limit=self.ffmpeg_timeout)
            cover = False
            if want_cover and ff.has_video(info):
                cover = await ff.snapshot(
                    source, work / "cover.jpg", ffmpeg=self.ffmpeg, time_limit=self.ffmpeg_timeout
                )
            duration = ff.duration_of(await ff.probe(playlist, ffprobe=self.ffprobe)) or ff.duration_of(info)
            await asyncio.to_thread(_swap_in, work, final)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        base = f"{self.http_url}/replays/{quote(event.stream)}/{quote(stem)}"
        return Replay(
            hls=f"{base}/index.m3u8", cover=f"{base}/cover.jpg" if cover else None, duration_s=duration
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
