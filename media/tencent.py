"""Tencent Cloud CSS (Cloud Streaming Services): signed push and play URLs, verified callbacks, and the API
that drops and forbids streams. The CDN carries the video; this adapter only signs, reads callbacks and
calls the API.

URL signing ("hotlink protection"): ``{url}?txSecret={md5(KEY + StreamName + txTime)}&txTime={txTime}``,
``txTime`` the URL's expiry as upper-case hex Unix seconds, ``KEY`` the push (or play) key of the domain.

Callbacks: HTTP POST, a JSON body with ``event_type`` (1 push started, 0 push interrupted, 100 recording
file), ``t`` (when the notice expires, Unix seconds; 10 minutes after sending by default) and
``sign = md5(callback key + t)``. Push events carry ``appid, app`` (the push domain), ``appname, stream_id,
channel_id, event_time, sequence, node, user_ip, stream_param`` (the pusher's query), ``errcode, errmsg``
and more; a recording file carries ``stream_id, file_id, file_format`` (FLV, HLS, MP4, AAC), ``video_url,
start_time, end_time, duration, file_size``.

API (live.tencentcloudapi.com, version 2018-08-01): ``DropLiveStream``, ``ForbidLiveStream`` (with
``ResumeTime``, ``Reason``), ``ResumeLiveStream``, each a JSON POST signed with TC3-HMAC-SHA256 (service
``live``); an error answers HTTP 200 with ``Response.Error.Code``/``Message``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from media.cdn import SAFE_NAME, check_stream, hls_replay, iso, utcnow
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

DEFAULT_API_ENDPOINT = "https://live.tencentcloudapi.com"
API_VERSION = "2018-08-01"
SERVICE = "live"
ALGORITHM = "TC3-HMAC-SHA256"
JSON_TYPE = "application/json; charset=utf-8"

_KINDS = {
    "1": StreamEventKind.STARTED,
    "0": StreamEventKind.STOPPED,
    "100": StreamEventKind.RECORDING_READY,
}
# errors that mean the stream was already as force_stop wants it
_NOT_LIVE = {"ResourceNotFound.StreamNotAlive"}
_SECRET_ARG = re.compile(r"(txSecret=)[^&]*", re.IGNORECASE)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def tx_time(expiry: datetime) -> str:
    """``txTime``: the expiry as upper-case hex Unix seconds."""
    return format(int(expiry.timestamp()), "X")


def tx_secret(key: str, stream: str, tx_time_hex: str) -> str:
    """``txSecret = md5(KEY + StreamName + txTime)``."""
    return _md5(f"{key}{stream}{tx_time_hex}")


def callback_sign(key: str, t: int | str) -> str:
    """A callback's ``sign = md5(callback key + t)``."""
    return _md5(f"{key}{t}")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """HexEncode(HMAC_SHA256(key, StringToSign)), the key derived from ``"TC3" + SecretKey``, the UTC date,
    the service and ``tc3_request``."""
    signing = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    content_type: str = JSON_TYPE,
    method: str = "POST",
    query: str = "",
) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 request signing ``content-type`` and ``host``."""
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            method,
            "/",
            query,
            f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n",
            signed_headers,
            _sha256_hex(payload),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{_sha256_hex(canonical_request.encode())}"
    signature = tc3_signature(secret_key, date, service, string_to_sign)
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )


class TencentLiveProvider:
    """Tencent Cloud CSS as a :class:`~media.provider.MediaProvider`."""

    name = "tencent"
    admits_by_answer = False
    has_callbacks = True

    def __init__(
        self,
        *,
        push_domain: str,
        play_domain: str,
        push_key: str,
        callback_key: str,
        app_name: str = "live",
        play_key: str = "",
        secret_id: str = "",
        secret_key: str = "",
        region: str = "",
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        play_ttl: timedelta = timedelta(hours=24),
        play_scheme: str = "https",
        forbid_for: timedelta = timedelta(days=7),
        forbid_reason: str = "the room's stream was ended by the platform",
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``play_key``: the play domain's hotlink key (play URLs are unsigned without one); ``play_ttl``:
        how long signed play URLs last; ``region``: sent as ``X-TC-Region`` when given (these APIs do not
        need it); ``forbid_for``: how long force_stop forbids the stream (the vendor allows up to 90 days)."""
        if not SAFE_NAME.match(app_name):
            raise ValueError(f"unsafe app name {app_name!r}")
        self.push_domain = push_domain
        self.play_domain = play_domain
        self.app_name = app_name
        self._push_key = push_key
        self._play_key = play_key
        self._callback_key = callback_key
        self._secret_id = secret_id
        self._secret_key = secret_key
        self.region = region
        self.api_endpoint = api_endpoint.rstrip("/")
        self._host = urlsplit(self.api_endpoint).netloc
        self.play_ttl = play_ttl
        self.play_scheme = play_scheme
        self.forbid_for = forbid_for
        self.forbid_reason = forbid_reason
        self._clock = clock
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    # --- credentials and URLs

    def push_credentials(self, stream: str, now: datetime, ttl: timedelta) -> PushCredentials:
        check_stream(stream)
        expires_at = datetime.fromtimestamp(int((now + ttl).timestamp()), UTC)
        hex_time = tx_time(expires_at)
        stream_key = f"{stream}?txSecret={tx_secret(self._push_key, stream, hex_time)}&txTime={hex_time}"
        server = f"rtmp://{self.push_domain}/{self.app_name}"
        return PushCredentials(
            protocol="rtmp",
            url=f"{server}/{stream_key}",
            server=server,
            stream_key=stream_key,
            expires_at=expires_at,
        )

    def pull_urls(self, stream: str) -> PullUrls:
        """Play URLs, signed with the play key (when one is set) until ``clock() + play_ttl``."""
        check_stream(stream)
        signed = ""
        if self._play_key:
            hex_time = tx_time(self._clock() + self.play_ttl)
            signed = f"?txSecret={tx_secret(self._play_key, stream, hex_time)}&txTime={hex_time}"
        path = f"{self.play_domain}/{self.app_name}/{stream}"
        return PullUrls(
            rtmp=f"rtmp://{path}{signed}",
            flv=f"{self.play_scheme}://{path}.flv{signed}",
            hls=f"{self.play_scheme}://{path}.m3u8{signed}",
        )

    # --- callbacks

    def parse_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        if request.method.upper() != "POST":
            raise InvalidCallback(f"Tencent callbacks are POST, not {request.method}")
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, ValueError) as e:
            raise InvalidCallback("Tencent callback body is not JSON") from e
        if not isinstance(data, dict):
            raise InvalidCallback("Tencent callback body is not an object")
        t, sign = data.get("t"), data.get("sign")
        if isinstance(t, bool) or not isinstance(t, int | str) or not str(t).isdigit() or len(str(t)) > 12:
            raise InvalidCallback("Tencent callback without a valid t")
        if not isinstance(sign, str) or not hmac.compare_digest(
            callback_sign(self._callback_key, t), sign.strip().lower()
        ):
            raise InvalidCallback("Tencent callback signature does not match")
        if int(t) < now.timestamp():
            raise InvalidCallback("Tencent callback has expired (its t is past)")
        event_type = str(data.get("event_type", ""))
        stream = data.get("stream_id") or data.get("channel_id")
        if not event_type or not isinstance(stream, str):
            raise InvalidCallback("Tencent callback without event_type or stream_id")
        kind = _KINDS.get(event_type, StreamEventKind.OTHER)
        if (
            kind is not StreamEventKind.RECORDING_READY
            and data.get("appname", self.app_name) != self.app_name
        ):
            kind = StreamEventKind.OTHER  # a push under another app path is not the room's stream
        payload = {k: v for k, v in data.items() if k != "sign"}
        if isinstance(payload.get("stream_param"), str):  # the pusher's query: keep its secret out
            payload["stream_param"] = _SECRET_ARG.sub(r"\1<redacted>", payload["stream_param"])
        recording = None
        event_id = str(data["sequence"]) if data.get("sequence") not in (None, "") else None
        if kind is StreamEventKind.RECORDING_READY:
            url = data.get("video_url")
            recording = url if isinstance(url, str) and url else None
            if event_id is None and data.get("file_id"):
                event_id = f"record:{data['file_id']}"
        return StreamEvent(
            kind=kind,
            stream=stream,
            at=now,
            name=event_type,
            event_id=event_id,
            recording=recording,
            payload=payload,
        )

    # --- the API

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.api_endpoint, transport=self._transport, timeout=self._timeout
            )
        return self._client

    async def _call(self, action: str, body: Mapping[str, str], *, tolerate: set[str] | None = None) -> None:
        """One signed API call; ``Response.Error`` (unless its code is in ``tolerate``) or no answer raises
        MediaError."""
        if not self._secret_id or not self._secret_key:
            raise MediaError("the Tencent API needs secret_id and secret_key")
        payload = json.dumps(dict(body), separators=(",", ":")).encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self._secret_id,
                secret_key=self._secret_key,
                service=SERVICE,
                host=self._host,
                timestamp=timestamp,
                payload=payload,
            ),
            "Content-Type": JSON_TYPE,
            "Host": self._host,
            "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
        }
        if self.region:
            headers["X-TC-Region"] = self.region
        try:
            response = await self._http().post("/", content=payload, headers=headers)
        except httpx.HTTPError as e:
            raise MediaError(f"Tencent {action}: no answer ({e!r})") from e
        try:
            data = response.json()
        except ValueError:
            data = None
        answer = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(answer, dict):
            raise MediaError(
                f"Tencent {action}: {response.status_code} and no Response",
                details={"status": response.status_code},
            )
        error = answer.get("Error")
        if isinstance(error, dict):
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            if code in (tolerate or set()):
                return
            raise MediaError(
                f"Tencent {action} refused: {code}: {message}",
                details={
                    "status": response.status_code,
                    "code": code,
                    "message": message,
                    "request_id": answer.get("RequestId"),
                },
            )
        if response.is_error:
            raise MediaError(
                f"Tencent {action}: {response.status_code}", details={"status": response.status_code}
            )

    def _stream(self, stream: str) -> dict[str, str]:
        return {"AppName": self.app_name, "DomainName": self.push_domain, "StreamName": stream}

    async def force_stop(self, stream: str) -> None:
        """``DropLiveStream`` (a stream that is not up counts as dropped), then ``ForbidLiveStream`` until
        ``forbid_for`` has passed."""
        await self._call("DropLiveStream", self._stream(stream), tolerate=_NOT_LIVE)
        await self._call(
            "ForbidLiveStream",
            {
                **self._stream(stream),
                "ResumeTime": iso(self._clock() + self.forbid_for),
                "Reason": self.forbid_reason,
            },
        )

    async def resume(self, stream: str) -> None:
        """``ResumeLiveStream``: lifts a forbid."""
        await self._call("ResumeLiveStream", self._stream(stream))

    # --- replays

    async def prepare_replay(self, event: StreamEvent, *, want_cover: bool) -> Replay | None:
        """The recording itself when it is an HLS playlist (``file_format`` HLS, an ``.m3u8`` URL); None
        otherwise, or when it recorded nothing. No cover is taken."""
        return hls_replay(
            event.recording,
            event.payload.get("duration"),
            is_hls=str(event.payload.get("file_format", "")).upper() == "HLS",
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
