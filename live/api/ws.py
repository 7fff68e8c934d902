"""The room channel endpoint: ``GET /ws/rooms/{room_id}`` (see docs/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from commerce.core.errors import NotFound, Unauthenticated
from commerce.core.identity import Principal
from live.connection import Connection
from live.container import Services
from live.hub import CLOSE_ROOM_ENDED, FINAL_STATES, RoomChannel
from live.moderation.actions import muted_users, queue_review
from live.wsserver import DIRECT_EXTENSION

log = logging.getLogger("yellowcart.ws")

CLOSE_UNAUTHENTICATED = 4001
CLOSE_NOT_FOUND = 4004
CLOSE_FLOOD = 4029
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


async def _snapshot(services: Services, room_id: int, channel: RoomChannel, *, recovered: bool | None) -> str:
    view = await services.snapshots.view(room_id, covering=channel.last_seq)
    chat = [
        json.loads(x)
        for x in await services.hub.broker.recent_chat(room_id, services.settings.ws_snapshot_chat)
    ]
    body: dict[str, Any] = {
        "t": "snapshot",
        "seq": view.seq,
        "room": view.room,
        "cart": view.cart,
        "counts": {"online": channel.online, "likes": channel.likes_total, "peak": channel.peak},
        "chat": chat,
        "ts": int(time.time() * 1000),
    }
    if recovered is not None:
        body["recovered"] = recovered
    return _dumps(body)


async def room_socket(websocket: WebSocket) -> None:
    """Serve one viewer; when the database or the broker cannot answer in time (overload, outage),
    the viewer is told so and closed with 1013, to come back shortly."""
    try:
        await _serve_viewer(websocket)
    except (SQLAlchemyError, RedisError, OSError, TimeoutError):
        services: Services = websocket.app.state.services
        services.metrics.ws_messages.labels("connect", "unavailable").inc()
        log.warning("room channel unavailable for a viewer", exc_info=True)
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.send_text(
                    _dumps({"t": "error", "code": "unavailable", "message": "server busy: try again shortly"})
                )
                await websocket.close(CLOSE_TRY_AGAIN, "server busy: try again shortly")


async def _serve_viewer(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    settings = services.settings
    raw_id = str(websocket.path_params["room_id"])
    await websocket.accept()
    room_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 19 else 0
    if not 1 <= room_id <= 2**63 - 1:  # not a room id at all: answered like an unknown room
        await websocket.send_text(
            _dumps({"t": "error", "code": "not_found", "message": f"room {raw_id[:40]} not found"})
        )
        await websocket.close(CLOSE_NOT_FOUND, "room not found")
        return
    principal: Principal | None = None
    token = websocket.query_params.get("token")
    try:
        principal = services.tokens.verify(token) if token else None
    except Unauthenticated as exc:
        await websocket.send_text(_dumps({"t": "error", "code": "unauthenticated", "message": exc.message}))
        await websocket.close(CLOSE_UNAUTHENTICATED, "invalid or expired token")
        return
    try:
        view = await services.snapshots.view(room_id, covering=0)
    except NotFound:
        await websocket.send_text(
            _dumps({"t": "error", "code": "not_found", "message": f"room {room_id} not found"})
        )
        await websocket.close(CLOSE_NOT_FOUND, "room not found")
        return
    if view.room["state"] in FINAL_STATES:
        await websocket.send_text(_dumps({"t": "ended", "room": room_id, "state": view.room["state"]}))
        await websocket.close(CLOSE_ROOM_ENDED, "room ended")
        return

    async def close(code: int, reason: str) -> None:
        if websocket.client_state == WebSocketState.CONNECTED:
            await websocket.close(code, reason)

    conn = Connection(
        websocket.send_text,
        close,
        user_id=principal.user_id if principal else None,
        direct=websocket.scope.get("extensions", {}).get(DIRECT_EXTENSION),
        max_frames=settings.ws_queue_frames,
        max_coalesce=settings.ws_max_coalesce,
        lag_window=settings.ws_lag_window_seconds,
    )
    services.metrics.ws_accepted.labels("asgi" if conn.direct is None else "direct").inc()
    conn.on_drop = lambda action: services.metrics.ws_drops.labels(action).inc()
    channel = await services.hub.join(room_id, conn, known_seq=view.seq)
    if not channel.muted_loaded:
        async with services.db.read() as session:
            channel.muted |= await muted_users(session, room_id)
        channel.muted_loaded = True
    writer = None
    try:
        since = websocket.query_params.get("since")
        if since is not None and since.isdigit():
            history = await services.hub.broker.history(room_id, int(since))
            if history is not None:
                events = [{**json.loads(p.data), "seq": p.seq} for p in history]
                last = history[-1].seq if history else int(since)
                services.metrics.ws_resume.labels("recovered").inc()
                await conn.send_now(_dumps({"t": "resume", "recovered": True, "seq": last, "state": events}))
            else:
                services.metrics.ws_resume.labels("snapshot").inc()
                await conn.send_now(await _snapshot(services, room_id, channel, recovered=False))
        else:
            await conn.send_now(await _snapshot(services, room_id, channel, recovered=None))
        writer = conn.start()
        await _read_loop(websocket, services, channel, conn, principal)
    except WebSocketDisconnect:
        pass
    finally:
        await services.hub.leave(room_id, conn)
        if writer is not None and not writer.done():
            if conn.closing is not None:  # let the writer send what is queued, then the close
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await asyncio.shield(writer)
            writer.cancel()


async def _read_loop(
    websocket: WebSocket,
    services: Services,
    channel: RoomChannel,
    conn: Connection,
    principal: Principal | None,
) -> None:
    settings = services.settings
    room_id = channel.room_id
    chat_bucket = TokenBucket(settings.chat_rate_per_second, settings.chat_burst)
    refusals = 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None and message.get("bytes") is not None:
            raw = message["bytes"].decode("utf-8", "replace")
        if raw is None:
            continue
        if len(raw.encode()) > settings.ws_max_message_bytes:
            services.metrics.ws_messages.labels("?", "too_big").inc()
            conn.close_soon(CLOSE_TOO_BIG, f"message larger than {settings.ws_max_message_bytes} bytes")
            return
        try:
            msg = json.loads(raw)
        except ValueError:
            await _error(conn, services, "?", "bad_json", "messages are JSON objects")
            continue
        if not isinstance(msg, dict) or not isinstance(msg.get("t"), str):
            await _error(conn, services, "?", "bad_message", 'messages are objects with a string "t"')
            continue
        kind, ref = msg["t"], msg.get("id")
        if kind == "ping":
            await conn.send_now(_dumps({"t": "pong", "id": ref, "ts": int(time.time() * 1000)}))
        elif kind == "auth":
            try:
                principal = services.tokens.verify(str(msg.get("token", "")))
            except Unauthenticated as exc:
                await _error(conn, services, kind, "unauthenticated", exc.message, ref)
                continue
            conn.user_id = principal.user_id
            await conn.send_now(_dumps({"t": "authed", "id": ref, "user_id": principal.user_id}))
        elif kind == "like":
            n = msg.get("n", 1)
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= settings.likes_max_per_message:
                await _error(
                    conn, services, kind, "invalid", f"n must be 1-{settings.likes_max_per_message}", ref
                )
                continue
            services.hub.add_likes(room_id, n)
            services.metrics.ws_messages.labels(kind, "ok").inc()
        elif kind == "chat":
            problem = _check_chat(msg.get("text"), settings.chat_max_chars)
            if principal is None:
                await _error(conn, services, kind, "login_required", "guests cannot send danmaku", ref)
            elif problem:
                await _error(conn, services, kind, "invalid", problem, ref)
            elif principal.user_id in channel.muted:
                await _error(conn, services, kind, "muted", "you are muted in this room", ref)
            elif not chat_bucket.take():
                refusals += 1
                await _error(conn, services, kind, "rate_limited", "too many danmaku; slow down", ref)
                if refusals > 20:
                    conn.close_soon(CLOSE_FLOOD, "flooding")
                    return
                continue
            else:
                refusals = 0
                text = str(msg["text"]).strip()
                verdict = (await services.words.get()).check(text)
                if verdict.blocked:
                    await _error(
                        conn,
                        services,
                        kind,
                        "blocked",
                        "the message contains words that are not allowed",
                        ref,
                        {"words": verdict.blocked},
                    )
                    continue
                data: dict[str, Any] = {
                    "id": uuid.uuid4().hex,
                    "user_id": principal.user_id,
                    "name": principal.name,
                    "text": verdict.text,
                    "ts": int(time.time() * 1000),
                }
                if verdict.masked:
                    data["masked"] = True
                    async with (
                        services.db.transaction() as s
                    ):  # queued before it is shown: nothing unreviewed is lost
                        await queue_review(
                            s,
                            chat_id=data["id"],
                            room_id=room_id,
                            user_id=principal.user_id,
                            original=text,
                            verdict=verdict,
                            at=services.clock(),
                        )
                await services.hub.broker.publish_chat(room_id, _dumps(data).encode())
                services.hub.count_danmaku(room_id)
                services.metrics.ws_messages.labels(kind, "ok").inc()
                if ref is not None:
                    await conn.send_now(_dumps({"t": "ack", "id": ref, "chat_id": data["id"]}))
        else:
            await _error(
                conn, services, kind[:32], "unknown_type", f"unknown message type {kind[:32]!r}", ref
            )


def _check_chat(text: object, max_chars: int) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string"
    if len(text) > max_chars:
        return f"text longer than {max_chars} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "text contains control characters"
    return None


async def _error(
    conn: Connection,
    services: Services,
    kind: str,
    code: str,
    message: str,
    ref: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    services.metrics.ws_messages.labels(
        kind if kind in {"chat", "like", "auth", "ping"} else "other", code
    ).inc()
    body: dict[str, Any] = {"t": "error", "code": code, "message": message, "id": ref}
    if details:
        body["details"] = details
    await conn.send_now(_dumps(body))
