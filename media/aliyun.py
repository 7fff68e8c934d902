"""Aliyun ApsaraVideo Live: signed push and play URLs, verified stream and recording callbacks, and the
stream-forbidding API. The CDN carries the video; this adapter only signs, reads callbacks and calls the API.

URL signing (the vendor's "type A"): ``{url}?auth_key={timestamp}-{rand}-{uid}-{md5hash}`` with
``md5hash = md5("{URI}-{timestamp}-{rand}-{uid}-{PrivateKey}")``, URI the path without the query
(``/app/stream`` to push or play RTMP, ``/app/stream.flv`` and ``/app/stream.m3u8`` to play over HTTP).
The CDN refuses a URL once ``timestamp + validity`` has passed, ``validity`` being the domain's configured
"URL signing validity period" (``ali_auth_delta``). So to make a URL expire at ``expiry`` we sign
``timestamp = expiry - auth_validity``; with ``auth_validity`` 0 (the default) the timestamp is the expiry
itself, the reading of the vendor's code samples (``exp = time() + ttl``), and the URL may live up to the
configured period longer than we say, never shorter.

Callbacks come to one URL:

- stream callbacks: HTTP GET, query ``action`` (``publish``/``publish_done``), ``ip``, ``id`` (the stream),
  ``app`` (the push domain), ``appname``, ``time``, ``usrargs`` (the pusher's query), ``node``, and on the
  first one ``height``/``width``; signed with headers ``ALI-LIVE-TIMESTAMP`` (when it was sent) and
  ``ALI-LIVE-SIGNATURE = md5("{push domain}|{timestamp}|{NotifyAuthKey}")``.
- recording callbacks: HTTP POST, a JSON body. A file callback has ``domain, app, stream, uri`` (the file's
  path in the recording bucket), ``duration``, ``start_time``, ``stop_time``, ``push_args``; a status callback
  has ``event`` (``record_started``...). Signed the same way, with the domain being the host of the callback
  URL (``callback_domain``, or the request's ``Host``).

The callbacks only report: the CDN has admitted the push already, so a refusal has to call the API.
API: RPC style, signature version 1.0 (``Signature = Base64(HMAC-SHA1(secret + "&", "GET&%2F&" +
percentEncode(sorted, percent-encoded query)))``), ``ForbidLiveStream`` / ``ResumeLiveStream``, version
2016-11-01; an error answers with ``Code`` and ``Message``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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

DEFAULT_API_ENDPOINT = "https://live.aliyuncs.com"
API_VERSION = "2016-11-01"

_KINDS = {"publish": StreamEventKind.STARTED, "publish_done": StreamEventKind.STOPPED}
_AUTH_ARG = re.compile(r"(auth_key=)[^&]*")


def _nonce() -> str:
    return uuid.uuid4().hex


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sign_auth_key(uri: str, timestamp: int, private_key: str, rand: str = "0", uid: str = "0") -> str:
    """The type A ``auth_key`` value for ``uri``: ``{timestamp}-{rand}-{uid}-{md5hash}``."""
    digest = _md5(f"{uri}-{timestamp}-{rand}-{uid}-{private_key}")
    return f"{timestamp}-{rand}-{uid}-{digest}"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the RPC signature wants it: only ``A-Za-z0-9-_.~`` stay; space is ``%20``,
    ``*`` is ``%2A``, ``~`` stays, hex digits are upper case."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """The parameters sorted by name, names and values percent-encoded, joined with ``&``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def rpc_string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def rpc_signature(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    """Signature version 1.0 of an RPC request's parameters (``Signature`` itself excluded)."""
    mac = hmac.new(
        f"{access_key_secret}&".encode(), rpc_string_to_sign(params, method).encode(), hashlib.sha1
    )
    return base64.b64encode(mac.digest()).decode()


def callback_signature(domain: str, timestamp: str, key: str) -> str:
    """``ALI-LIVE-SIGNATURE``: ``md5("{domain}|{ALI-LIVE-TIMESTAMP}|{key}")``."""
    return _md5(f"{domain}|{timestamp}|{key}")


class AliyunLiveProvider:
    """ApsaraVideo Live as a :class:`~media.provider.MediaProvider`."""

    name = "aliyun"
    admits_by_answer = False
    has_callbacks = True

    def __init__(
        self,
        *,
        push_domain: str,
        play_domain: str,
        push_auth_key: str,
        notify_auth_key: str,
        app_name: str = "live",
        play_auth_key: str = "",
        access_key_id: str = "",
        access_key_secret: str = "",
        api_endpoint: str = DEFAULT_API_ENDPOINT,
        region: str = "cn-shanghai",
        auth_validity: timedelta = timedelta(0),
        play_ttl: timedelta = timedelta(hours=24),
        play_scheme: str = "https",
        callback_domain: str | None = None,
        record_base_url: str | None = None,
        forbid_for: timedelta | None = timedelta(days=7),
        callback_max_skew: timedelta = timedelta(seconds=300),
        clock: Callable[[], datetime] = utcnow,
        nonce: Callable[[], str] = _nonce,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``auth_validity``: the domains' configured signing validity period (see the module doc);
        ``play_ttl``: how long signed play URLs last; ``callback_domain``: the host of the recording callback
        URL (it salts that callback's signature; the request's ``Host`` when not given);
        ``record_base_url``: where the recording bucket is served (a recording's ``uri`` is relative to it);
        ``forbid_for``: how long force_stop forbids the stream (None: until resumed)."""
        if not SAFE_NAME.match(app_name):
            raise ValueError(f"unsafe app name {app_name!r}")
        self.push_domain = push_domain
        self.play_domain = play_domain
        self.app_name = app_name
        self._push_key = push_auth_key
        self._play_key = play_auth_key
        self._notify_key = notify_auth_key
        self._key_id = access_key_id
        self._key_secret = access_key_secret
        self.api_endpoint = api_endpoint.rstrip("/")
        self.region = region
        self.auth_validity = auth_validity
        self.play_ttl = play_ttl
        self.play_scheme = play_scheme
        self.callback_domain = callback_domain
        self.record_base_url = record_base_url.rstrip("/") if record_base_url else None
        self.forbid_for = forbid_for
        self.callback_max_skew = callback_max_skew
        self._clock = clock
        self._nonce = nonce
        self._transport = transport
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    # --- credentials and URLs

    def _timestamp_for(self, expiry: int) -> int:
        return expiry - int(self.auth_validity.total_seconds())

    def push_credentials(self, stream: str, now: datetime, ttl: timedelta) -> PushCredentials:
        check_stream(stream)
        expiry = int((now + ttl).timestamp())
        uri = f"/{self.app_name}/{stream}"
        stream_key = f"{stream}?auth_key={sign_auth_key(uri, self._timestamp_for(expiry), self._push_key)}"
        server = f"rtmp://{self.push_domain}/{self.app_name}"
        return PushCredentials(
            protocol="rtmp",
            url=f"{server}/{stream_key}",
            server=server,
            stream_key=stream_key,
            expires_at=datetime.fromtimestamp(expiry, UTC),
        )

    def pull_urls(self, stream: str) -> PullUrls:
        """Play URLs, signed with the play domain's key (when one is set) until ``clock() + play_ttl``."""
        check_stream(stream)
        timestamp = self._timestamp_for(int((self._clock() + self.play_ttl).timestamp()))

        def url(scheme: str, suffix: str) -> str:
            uri = f"/{self.app_name}/{stream}{suffix}"
            signed = f"?auth_key={sign_auth_key(uri, timestamp, self._play_key)}" if self._play_key else ""
            return f"{scheme}://{self.play_domain}{uri}{signed}"

        return PullUrls(
            rtmp=url("rtmp", ""), flv=url(self.play_scheme, ".flv"), hls=url(self.play_scheme, ".m3u8")
        )

    # --- callbacks

    def parse_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        method = request.method.upper()
        if method == "GET":
            return self._stream_callback(request, now)
        if method == "POST":
            return self._recording_callback(request, now)
        raise InvalidCallback(f"Aliyun callbacks are GET or POST, not {request.method}")

    def _verify(self, headers: Mapping[str, str], domain: str, now: datetime) -> None:
        timestamp = headers.get("ali-live-timestamp", "")
        signature = headers.get("ali-live-signature", "")
        if not timestamp or not signature:
            raise InvalidCallback("Aliyun callback without ALI-LIVE-TIMESTAMP and ALI-LIVE-SIGNATURE")
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise InvalidCallback("Aliyun callback with a malformed ALI-LIVE-TIMESTAMP")
        expected = callback_signature(domain, timestamp, self._notify_key)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise InvalidCallback("Aliyun callback signature does not match")
        if abs(now.timestamp() - int(timestamp)) > self.callback_max_skew.total_seconds():
            raise InvalidCallback("Aliyun callback timestamp is too far from now (stale or replayed)")

    def _stream_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        self._verify(request.headers, self.push_domain, now)
        fields = dict(request.query)
        action, stream = fields.get("action", ""), fields.get("id", "")
        if not action or not stream:
            raise InvalidCallback("Aliyun stream callback without action or id")
        kind = _KINDS.get(action, StreamEventKind.OTHER)
        if fields.get("appname", self.app_name) != self.app_name:
            kind = StreamEventKind.OTHER  # a push under another app path is not the room's stream
        if "usrargs" in fields:  # the pusher's query carries its auth_key: keep it out of the history
            fields["usrargs"] = _AUTH_ARG.sub(r"\1<redacted>", fields["usrargs"])
        sent = fields.get("time", "")
        return StreamEvent(
            kind=kind,
            stream=stream,
            at=now,
            name=action,
            event_id=f"{action}:{stream}:{sent}" if sent else None,
            payload=fields,
        )

    def _recording_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        domain = self.callback_domain or request.headers.get("host", "").rsplit(":", 1)[0]
        if not domain:
            raise InvalidCallback("Aliyun recording callback: no callback domain to check its signature")
        self._verify(request.headers, domain, now)
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, ValueError) as e:
            raise InvalidCallback("Aliyun recording callback body is not JSON") from e
        if not isinstance(data, dict) or not isinstance(data.get("stream"), str) or not data["stream"]:
            raise InvalidCallback("Aliyun recording callback names no stream")
        stream = data["stream"]
        uri = data.get("uri")
        if isinstance(uri, str) and uri and "event" not in data:
            return StreamEvent(
                kind=StreamEventKind.RECORDING_READY,
                stream=stream,
                at=now,
                name="record_file",
                event_id=f"record:{uri}",
                recording=self._recording_url(uri),
                payload=data,
            )
        return StreamEvent(
            kind=StreamEventKind.OTHER, stream=stream, at=now, name=str(data.get("event", "")), payload=data
        )

    def _recording_url(self, uri: str) -> str:
        if uri.startswith(("http://", "https://")) or self.record_base_url is None:
            return uri
        return f"{self.record_base_url}/{quote(uri.lstrip('/'), safe='/:')}"

    # --- the API

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.api_endpoint, transport=self._transport, timeout=self._timeout
            )
        return self._client

    async def _call(self, params: Mapping[str, str]) -> dict[str, Any]:
        """One signed RPC call; a vendor error (``Code``/``Message``) or no answer raises MediaError."""
        if not self._key_id or not self._key_secret:
            raise MediaError("the Aliyun API needs access_key_id and access_key_secret")
        signed = {
            **params,
            "Format": "JSON",
            "Version": API_VERSION,
            "AccessKeyId": self._key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": self._nonce(),
            "Timestamp": iso(self._clock()),
            "RegionId": self.region,
        }
        signed["Signature"] = rpc_signature(signed, self._key_secret)
        action = params["Action"]
        try:
            response = await self._http().get(f"/?{canonical_query(signed)}")
        except httpx.HTTPError as e:
            raise MediaError(f"Aliyun {action}: no answer ({e!r})") from e
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise MediaError(
                f"Aliyun {action}: {response.status_code} and no JSON answer",
                details={"status": response.status_code},
            )
        if response.is_error or "Code" in data:
            code, message = str(data.get("Code", "")), str(data.get("Message", ""))
            raise MediaError(
                f"Aliyun {action} refused: {code}: {message}",
                details={
                    "status": response.status_code,
                    "code": code,
                    "message": message,
                    "request_id": data.get("RequestId"),
                },
            )
        return data

    def _stream_params(self, action: str, stream: str) -> dict[str, str]:
        return {
            "Action": action,
            "DomainName": self.push_domain,
            "AppName": self.app_name,
            "StreamName": stream,
            "LiveStreamType": "publisher",
        }

    async def force_stop(self, stream: str) -> None:
        """``ForbidLiveStream``: drops the publisher and refuses its pushes until ``forbid_for`` has passed
        (the vendor's blacklist holds at most 10,000 streams, hence the time limit)."""
        params = self._stream_params("ForbidLiveStream", stream)
        if self.forbid_for is not None:
            params["ResumeTime"] = iso(self._clock() + self.forbid_for)
        await self._call(params)

    async def resume(self, stream: str) -> None:
        """``ResumeLiveStream``: lifts a forbid."""
        await self._call(self._stream_params("ResumeLiveStream", stream))

    # --- replays

    async def prepare_replay(self, event: StreamEvent, *, want_cover: bool) -> Replay | None:
        """The recording itself, when it is an HLS playlist at an http(s) URL (record in m3u8 format and
        set ``record_base_url``); None otherwise, or when it recorded nothing. No cover is taken."""
        return hls_replay(event.recording, event.payload.get("duration"))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
