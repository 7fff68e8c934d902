"""Local stand-ins for the Aliyun ApsaraVideo Live API and the Tencent Cloud CSS API (the vendors cannot be
reached from here), and builders of the callbacks each vendor sends.

The fakes check every request's signature the way the vendor documents it, computed here from the request
as received (this module does not use ``media.aliyun`` or ``media.tencent``), refuse a bad one with the
vendor's documented error, and record what was forbidden, dropped and resumed so tests can check the
effect. Serve them through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from media.provider import CallbackRequest

Clock = Callable[[], datetime]

# --- Aliyun: RPC API, signature version 1.0 --------------------------------------------------------------

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _rfc3986(text: str) -> str:
    """Byte by byte: unreserved bytes as they are, every other byte as %XX (upper-case hex)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


def _aliyun_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "live.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        },
        status_code=status,
    )


def fake_aliyun_live(access_keys: Mapping[str, str], clock: Clock) -> Starlette:
    """ApsaraVideo Live's RPC endpoint for ``ForbidLiveStream`` and ``ResumeLiveStream``.

    ``access_keys`` maps AccessKeyId to secret. State: ``app.state.forbidden`` ({(domain, app, stream):
    ResumeTime or None}), ``app.state.resumed`` and ``app.state.calls`` (lists of (action, params))."""
    forbidden: dict[tuple[str, str, str], str | None] = {}
    resumed: list[tuple[str, str, str]] = []
    calls: list[tuple[str, dict[str, str]]] = []
    nonces: set[str] = set()

    async def rpc(request: Request) -> JSONResponse:
        raw = request.url.query
        params: dict[str, str] = {}
        for part in raw.split("&") if raw else []:
            name, _, value = part.partition("=")
            params[unquote(name)] = unquote(value)
        signature = params.pop("Signature", "")
        for common in ("AccessKeyId", "SignatureNonce", "Timestamp", "Version", "Action"):
            if not params.get(common):
                return _aliyun_error(400, f"Missing{common}", f"{common} is mandatory for this action.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return _aliyun_error(400, "InvalidSignatureMethod", "Specified signature method is not valid.")
        secret = access_keys.get(params["AccessKeyId"])
        if secret is None:
            return _aliyun_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        try:
            sent = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _aliyun_error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((clock() - sent).total_seconds()) > 900:
            return _aliyun_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date is expired.")
        query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(params.items()))
        string_to_sign = f"{request.method}&{_rfc3986('/')}&{_rfc3986(query)}"
        expected = base64.b64encode(
            hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            return _aliyun_error(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:"
                f"{string_to_sign}",
            )
        if params["SignatureNonce"] in nonces:
            return _aliyun_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        nonces.add(params["SignatureNonce"])
        action = params["Action"]
        calls.append((action, dict(params)))
        if params.get("Version") != "2016-11-01":
            return _aliyun_error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action not in ("ForbidLiveStream", "ResumeLiveStream"):
            return _aliyun_error(404, "InvalidAction.NotFound", "Specified api is not found.")
        for name in ("DomainName", "AppName", "StreamName", "LiveStreamType"):
            if not params.get(name):
                return _aliyun_error(400, "MissingParameter", f"The input parameter {name} is mandatory.")
        if params["LiveStreamType"] != "publisher":
            return _aliyun_error(400, "InvalidLiveStreamType", "LiveStreamType must be publisher.")
        stream = (params["DomainName"], params["AppName"], params["StreamName"])
        if action == "ForbidLiveStream":
            forbidden[stream] = params.get("ResumeTime")
        else:
            forbidden.pop(stream, None)
            resumed.append(stream)
        return JSONResponse({"RequestId": str(uuid.uuid4()).upper()})

    app = Starlette(routes=[Route("/", rpc, methods=["GET"])])
    app.state.forbidden, app.state.resumed, app.state.calls = forbidden, resumed, calls
    return app


def aliyun_stream_callback(
    *,
    action: str,
    stream: str,
    push_domain: str,
    key: str,
    timestamp: int,
    app_name: str = "live",
    sent: int | None = None,
    usrargs: str = "",
    signature: str | None = None,
) -> CallbackRequest:
    """A stream callback as the vendor sends it: GET with the fields in the query, signed in the headers
    with md5("{push domain}|{timestamp}|{key}")."""
    ts = str(timestamp)
    return CallbackRequest(
        method="GET",
        query={
            "action": action,
            "ip": "203.0.113.7",
            "id": stream,
            "app": push_domain,
            "appname": app_name,
            "time": str(sent if sent is not None else timestamp),
            "usrargs": usrargs,
            "node": "cdnvideocenter010207116011.cm3",
        },
        headers={
            "ali-live-timestamp": ts,
            "ali-live-signature": signature or hashlib.md5(f"{push_domain}|{ts}|{key}".encode()).hexdigest(),
        },
        body=b"",
    )


def aliyun_record_callback(
    body: Mapping[str, Any], *, callback_host: str, key: str, timestamp: int, send_host: bool = True
) -> CallbackRequest:
    """A recording callback: POST JSON, signed with the callback URL's host in the signature."""
    ts = str(timestamp)
    headers = {
        "content-type": "application/json",
        "ali-live-timestamp": ts,
        "ali-live-signature": hashlib.md5(f"{callback_host}|{ts}|{key}".encode()).hexdigest(),
    }
    if send_host:
        headers["host"] = callback_host
    return CallbackRequest(method="POST", query={}, headers=headers, body=json.dumps(dict(body)).encode())


# --- Tencent: API 3.0, TC3-HMAC-SHA256 -------------------------------------------------------------------


def _tencent_error(code: str, message: str) -> JSONResponse:
    # the API answers errors with HTTP 200 and Response.Error
    return JSONResponse(
        {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}
    )


def _hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def fake_tencent_live(secret_keys: Mapping[str, str], clock: Clock) -> Starlette:
    """CSS's endpoint for ``DropLiveStream``, ``ForbidLiveStream`` and ``ResumeLiveStream``.

    ``secret_keys`` maps SecretId to SecretKey. State: ``app.state.dropped`` and ``app.state.resumed`` (lists
    of (domain, app, stream)), ``app.state.forbidden`` ({(domain, app, stream): (ResumeTime, Reason)}),
    ``app.state.live`` (streams up now; dropping one takes it down), ``app.state.calls``."""
    dropped: list[tuple[str, str, str]] = []
    resumed: list[tuple[str, str, str]] = []
    forbidden: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
    live: set[tuple[str, str, str]] = set()
    calls: list[tuple[str, dict[str, Any]]] = []

    async def api(request: Request) -> JSONResponse:
        body = await request.body()
        auth = request.headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        credential = fields.get("Credential", "").split("/")
        if algorithm != "TC3-HMAC-SHA256" or len(credential) != 4 or credential[3] != "tc3_request":
            return _tencent_error("AuthFailure.InvalidAuthorization", "Authorization is not valid.")
        secret_id, date, service, _ = credential
        secret_key = secret_keys.get(secret_id)
        if secret_key is None:
            return _tencent_error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = request.headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit():
            return _tencent_error("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not valid.")
        if abs(clock().timestamp() - int(timestamp)) > 300:
            return _tencent_error("AuthFailure.SignatureExpire", "Signature expired.")
        if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date or service != "live":
            return _tencent_error("AuthFailure.SignatureFailure", "The credential scope does not match.")
        signed_headers = fields.get("SignedHeaders", "")
        names = signed_headers.split(";")
        if "content-type" not in names or "host" not in names or names != sorted(names):
            return _tencent_error(
                "AuthFailure.SignatureFailure", "SignedHeaders must include content-type, host."
            )
        canonical_headers = "".join(f"{n}:{request.headers.get(n, '').strip().lower()}\n" for n in names)
        canonical_request = (
            f"{request.method}\n/\n{request.url.query}\n{canonical_headers}\n{signed_headers}\n"
            f"{hashlib.sha256(body).hexdigest()}"
        )
        string_to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n"
            f"{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"
        )
        key = _hmac_sha256(
            _hmac_sha256(_hmac_sha256(("TC3" + secret_key).encode(), date), service), "tc3_request"
        )
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return _tencent_error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        action = request.headers.get("x-tc-action", "")
        if request.headers.get("x-tc-version") != "2018-08-01":
            return _tencent_error("InvalidParameterValue", "The version is not valid.")
        try:
            params = json.loads(body)
        except ValueError:
            return _tencent_error("InvalidParameter", "The body is not JSON.")
        calls.append((action, params))
        if action not in ("DropLiveStream", "ForbidLiveStream", "ResumeLiveStream"):
            return _tencent_error("InvalidAction", f"The action {action} does not exist.")
        for name in ("DomainName", "AppName", "StreamName"):
            if not isinstance(params.get(name), str) or not params[name]:
                return _tencent_error("MissingParameter", f"The parameter {name} is missing.")
        stream = (params["DomainName"], params["AppName"], params["StreamName"])
        if action == "DropLiveStream":
            live.discard(stream)  # documented: dropping a stream that is not up succeeds as well
            dropped.append(stream)
        elif action == "ForbidLiveStream":
            live.discard(stream)
            forbidden[stream] = (params.get("ResumeTime"), params.get("Reason"))
        else:
            forbidden.pop(stream, None)
            resumed.append(stream)
        return JSONResponse({"Response": {"RequestId": str(uuid.uuid4())}})

    app = Starlette(routes=[Route("/", api, methods=["POST"])])
    app.state.dropped, app.state.resumed, app.state.forbidden = dropped, resumed, forbidden
    app.state.live, app.state.calls = live, calls
    return app


def tencent_callback(
    body: Mapping[str, Any], *, key: str, t: int, sign: str | None = None
) -> CallbackRequest:
    """A callback as the vendor sends it: POST JSON with ``t`` and ``sign = md5(key + t)`` in the body."""
    signed = {**body, "t": t, "sign": sign or hashlib.md5(f"{key}{t}".encode()).hexdigest()}
    return CallbackRequest(
        method="POST",
        query={},
        headers={"content-type": "application/json"},
        body=json.dumps(signed).encode(),
    )


def tencent_push_event(
    event_type: int,
    stream: str,
    *,
    domain: str,
    app_name: str = "live",
    sequence: str = "2210464508206756938",
) -> dict[str, Any]:
    """The body of a push (1) or interruption (0) callback, shaped like the vendor's documented example."""
    body: dict[str, Any] = {
        "app": domain,
        "appid": 12345678,
        "appname": app_name,
        "channel_id": stream,
        "errcode": 0,
        "errmsg": "ok",
        "event_time": 1703731478,
        "event_type": event_type,
        "height": 720,
        "idc_id": 34,
        "node": "42.81.194.37",
        "sequence": sequence,
        "set_id": 2,
        "stream_id": stream,
        "stream_param": "txSecret=0123456789abcdef0123456789abcdef&txTime=5C271099",
        "user_ip": "203.0.113.7",
        "width": 1280,
    }
    if event_type == 0:
        body["push_duration"] = "60000"
        body["errcode"], body["errmsg"] = 1, "recv rtmp deleteStream"
    return body


def tencent_record_event(
    stream: str, *, domain: str, file_format: str, video_url: str, **extra: Any
) -> dict[str, Any]:
    """The body of a recording-file callback (event_type 100)."""
    return {
        "appid": 12345678,
        "app": domain,
        "appname": "live",
        "stream_id": stream,
        "channel_id": stream,
        "file_id": "5285890781763144364",
        "record_file_id": "5285890781763144364",
        "file_format": file_format,
        "task_id": "1234",
        "start_time": 1703731478,
        "end_time": 1703735078,
        "duration": 3600,
        "file_size": 734003200,
        "stream_param": "",
        "video_url": video_url,
        "event_type": 100,
        **extra,
    }
