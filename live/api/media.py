"""Streams: push credentials, the room's stream, provider callbacks, the stream history, WHIP and WHEP.

WHIP/WHEP (RFC 9725) carry SDP rather than JSON, so their routes are plain Starlette routes; their
errors are still JSON bodies naming the problem.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commerce.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from commerce.core.identity import Role
from live.api.errors import EdgeError, domain_error_response
from live.api.presenters import stream_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    CallbackAnswer,
    PushCredentialsOut,
    StreamEventOut,
    StreamEventPage,
    StreamEventsQuery,
    StreamOut,
)
from live.container import Services
from live.rooms import actions as rooms
from live.streaming.actions import read_stream
from media.provider import STREAM_NAME_PATTERN, CallbackRequest, stream_for_room

if TYPE_CHECKING:
    from media.webrtc import WebRTCProvider

api = Api()
TAGS = ["streams"]
SDP = "application/sdp"


def _play_token(services: Services, room_id: int) -> str | None:
    """A WHEP bearer token, where the provider plays over WebRTC (the others' pull URLs are signed)."""
    if services.media.name != "webrtc":
        return None
    return _webrtc(services).play_token(stream_for_room(room_id), services.clock() + services.streams.key_ttl)


@api.op(
    "POST",
    "/rooms/{room_id:int}/stream/credentials",
    summary="The room's streamer: signed, expiring push credentials (RTMP URL + key, or WHIP + token)",
    tags=TAGS,
    response=PushCredentialsOut,
)
async def push_credentials(ctx: Ctx) -> PushCredentialsOut:
    creds, row = await ctx.services.streams.credentials(ctx.user, ctx.path["room_id"])
    return PushCredentialsOut(
        protocol=creds.protocol,
        url=creds.url,
        server=creds.server,
        stream_key=creds.stream_key,
        bearer_token=creds.bearer_token,
        expires_at=creds.expires_at,
        stream=stream_out(row, []),
    )


@api.op(
    "GET",
    "/rooms/{room_id:int}/stream",
    summary="Where to pull the room's video (and a WHEP token where needed), its state and replays",
    tags=TAGS,
    response=StreamOut,
    auth="public",
)
async def get_stream(ctx: Ctx) -> StreamOut:
    room_id = ctx.path["room_id"]
    async with ctx.services.db.read() as s:
        await rooms.get_room(s, room_id)
        row, replays = await read_stream(s, room_id)
    if row is None:
        raise NotFound("stream", room_id)
    return stream_out(row, replays, _play_token(ctx.services, room_id))


@api.op(
    "GET",
    "/rooms/{room_id:int}/stream/events",
    summary="The provider events of the room's stream, newest first (staff and the room's shop)",
    tags=TAGS,
    query=StreamEventsQuery,
    response=StreamEventPage,
)
async def stream_events(ctx: Ctx) -> StreamEventPage:
    room_id = ctx.path["room_id"]
    q: StreamEventsQuery = ctx.query
    async with ctx.services.db.read() as s:
        room = await rooms.get_room(s, room_id)
        if not ctx.user.has(Role.PLATFORM_STAFF):
            await rooms.require_room_manager(s, room, ctx.user)
    items = await ctx.services.streams.history(room_id, limit=q.limit, before=q.before)
    return StreamEventPage(
        items=[StreamEventOut.model_validate(i) for i in items],
        next_before=items[-1].id if len(items) == q.limit else None,
    )


async def _callback(ctx: Ctx) -> Response:
    services = ctx.services
    provider = services.media
    if ctx.path["provider"] != provider.name or not provider.has_callbacks:
        raise NotFound("media provider", ctx.path["provider"])
    request = ctx.request
    if provider.admits_by_answer:
        # self-hosted media servers sign nothing: only their own addresses may call (their publish is
        # admitted by its signed push key; this keeps strangers from reporting streams stopped)
        _check_source(request, services.settings.media_callback_sources)
    body = await request.body()
    if len(body) > services.settings.max_body_bytes:
        raise EdgeError(
            413, "too_large", "callback body too large", {"max": services.settings.max_body_bytes}
        )
    event = provider.parse_callback(
        CallbackRequest(
            method=request.method,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        ),
        services.clock(),
    )
    outcome = await services.streams.on_event(event)
    if not outcome.admitted and provider.admits_by_answer:
        # a non-2xx answer is what makes the media server drop the publisher
        raise Forbidden(outcome.reason or "stream refused", details={"outcome": outcome.outcome})
    return Response(CallbackAnswer(outcome=outcome.outcome).model_dump_json(), media_type="application/json")


def _check_source(request: Request, allowed: list[str]) -> None:
    host = request.client.host if request.client else ""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise Forbidden("callbacks are taken only from the media server", details={"source": host}) from None
    if not any(addr in ipaddress.ip_network(n, strict=False) for n in allowed):
        raise Forbidden("callbacks are taken only from the media server", details={"source": host})


@api.op(
    "POST",
    "/media/callbacks/{provider}",
    summary="The media provider's stream callbacks (verified; a refused publish answers 403)",
    tags=TAGS,
    response=CallbackAnswer,
    auth="public",
)
async def media_callback(ctx: Ctx) -> Response:
    return await _callback(ctx)


@api.op(
    "GET",
    "/media/callbacks/{provider}",
    summary="The same, for providers that call back with GET (Aliyun's stream callbacks)",
    tags=TAGS,
    response=CallbackAnswer,
    auth="public",
)
async def media_callback_get(ctx: Ctx) -> Response:
    return await _callback(ctx)


# --- WHIP / WHEP --------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _sdp_body(request: Request, services: Services) -> str:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != SDP:
        raise EdgeError(415, "unsupported_media_type", f"the body must be {SDP}", {"expected": SDP})
    body = await request.body()
    if len(body) > services.settings.max_body_bytes:
        raise EdgeError(413, "too_large", "SDP offer too large", {"max": services.settings.max_body_bytes})
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise InvalidInput("the SDP offer is not UTF-8") from None


def _webrtc(services: Services) -> WebRTCProvider:
    from media.webrtc import WebRTCProvider  # aiortc is imported only where WebRTC is the provider

    if not isinstance(services.media, WebRTCProvider):
        raise NotFound("WHIP/WHEP endpoint", services.media.name)
    return services.media


async def _offer(request: Request, kind: str) -> Response:
    """WHIP (``publish``) or WHEP (``play``): an SDP offer in, 201 with the answer and its session out."""
    services: Services = request.app.state.services
    stream = request.path_params["stream"]
    try:
        relay = _webrtc(services)
        offer = await _sdp_body(request, services)
        if kind == "whip":
            await services.streams.admit(stream)  # the room may go live: checked before any setup
            session = await relay.publish(stream, offer, _bearer(request))
        else:
            session = await relay.play(stream, offer, _bearer(request))
    except DomainError as exc:
        return domain_error_response(exc)
    return Response(
        session.answer_sdp,
        status_code=201,
        media_type=SDP,
        headers={"Location": f"/media/{kind}/{stream}/{session.id}"},
    )


async def whip(request: Request) -> Response:
    return await _offer(request, "whip")


async def whep(request: Request) -> Response:
    return await _offer(request, "whep")


async def end_session(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        relay = _webrtc(services)
        await relay.end(request.path_params["session"], stream=request.path_params["stream"])
    except DomainError as exc:
        return domain_error_response(exc)
    return Response(status_code=200)


routes = [
    Route("/media/whip/{stream}", whip, methods=["POST"]),
    Route("/media/whep/{stream}", whep, methods=["POST"]),
    Route("/media/whip/{stream}/{session}", end_session, methods=["DELETE"]),
    Route("/media/whep/{stream}/{session}", end_session, methods=["DELETE"]),
]


def document(openapi: dict[str, Any]) -> None:
    """Add the WHIP/WHEP routes (SDP in and out, so not declared through ``Api``) to the OpenAPI document."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    sdp = {SDP: {"schema": {"type": "string"}}}
    stream = {
        "name": "stream",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": STREAM_NAME_PATTERN},
    }
    session = {"name": "session", "in": "path", "required": True, "schema": {"type": "string"}}
    failures = {
        str(code): {"description": text, "content": error}
        for code, text in (
            (401, "no or bad bearer token"),
            (403, "token refused (expired, another stream's) or the room may not go live"),
            (404, "no such stream (or the media provider has no WebRTC)"),
            (409, "the stream already has a publisher (WHIP), or is full (WHEP)"),
            (413, "the offer is too large"),
            (415, "the body is not application/sdp"),
            (422, "not a stream name, or an SDP offer that cannot be used"),
            (503, "the relay could not set the session up in time"),
        )
    }
    for kind, who in (("whip", "the streamer publishes (RFC 9725)"), ("whep", "a viewer plays")):
        token = "the push token from the stream credentials" if kind == "whip" else "the play token"
        openapi["paths"][f"/media/{kind}/{{stream}}"] = {
            "post": {
                "operationId": f"{kind}_offer",
                "summary": f"{kind.upper()}: {who}; send an SDP offer, get the answer",
                "tags": TAGS,
                "description": f"`Authorization: Bearer <{token}>`; DELETE the answer's `Location` to end.",
                "parameters": [stream],
                "requestBody": {"required": True, "content": sdp},
                "responses": {"201": {"description": "the SDP answer", "content": sdp}, **failures},
            }
        }
        openapi["paths"][f"/media/{kind}/{{stream}}/{{session}}"] = {
            "delete": {
                "operationId": f"{kind}_end",
                "summary": f"{kind.upper()}: end the session",
                "tags": TAGS,
                "parameters": [stream, session],
                "responses": {
                    "200": {"description": "ended"},
                    "404": {"description": "no such session", "content": error},
                },
            }
        }
