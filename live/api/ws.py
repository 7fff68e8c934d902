"""The room channel endpoint: ``GET /ws/rooms/{room_id}`` (see docs/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from commerce.core.errors import NotFound, Unauthenticated, Unavailable
from commerce.core.identity import Principal
from live.api.ws_messages import ViewerSession
from live.close_codes import CLOSE_NOT_FOUND, CLOSE_ROOM_ENDED, CLOSE_TRY_AGAIN, CLOSE_UNAUTHENTICATED
from live.connection import Connection
from live.container import Services
from live.hub import FINAL_STATES, RoomChannel
from live.moderation.actions import muted_users
from live.wsserver import DIRECT_EXTENSION

log = logging.getLogger("yellowcart.ws")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


async def _snapshot(services: Services, room_id: int, channel: RoomChannel, *, recovered: bool | None) -> str:
    snap = await services.snapshots.get(room_id, covering=channel.last_seq)
    chat = await services.hub.recent_chat(room_id, services.settings.ws_snapshot_chat)
    body: dict[str, Any] = {
        "t": "snapshot",
        "seq": snap.seq,
        "room": snap.room,
        "cart": snap.cart,
        "counts": channel.audience.counts(),
        "chat": chat,
        "ts": int(time.time() * 1000),
    }
    if recovered is not None:
        body["recovered"] = recovered
    return _dumps(body)


async def _resume(services: Services, room_id: int, channel: RoomChannel, since: int) -> str:
    """The first frame for a viewer coming back with ``since``: ``resume`` with every state event it
    missed, only when they can all be had (from the broker's history and the database's record) up to
    the room's seq in the database; otherwise a snapshot with ``recovered: false`` (also when
    ``since`` is ahead of the room). The snapshot is read after joining, so it covers every event the
    room's channel had already delivered here; later ones reach the viewer through the channel."""
    snap = await services.snapshots.get(room_id, covering=max(channel.last_seq, since))
    events = await services.hub.missed(room_id, since, snap.seq)
    if events is None:
        services.metrics.ws_resume.labels("snapshot").inc()
        return await _snapshot(services, room_id, channel, recovered=False)
    services.metrics.ws_resume.labels("recovered").inc()
    state = [{**json.loads(p.data), "seq": p.seq} for p in events]
    return _dumps({"t": "resume", "recovered": True, "seq": snap.seq, "state": state})


async def room_socket(websocket: WebSocket) -> None:
    """Serve one viewer; when the database or the broker cannot answer in time (overload, outage),
    the viewer is told so and closed with 1013, to come back shortly."""
    try:
        await _serve_viewer(websocket)
    except (SQLAlchemyError, RedisError, OSError, TimeoutError, Unavailable):
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
        snap = await services.snapshots.get(room_id, covering=0)
    except NotFound:
        await websocket.send_text(
            _dumps({"t": "error", "code": "not_found", "message": f"room {room_id} not found"})
        )
        await websocket.close(CLOSE_NOT_FOUND, "room not found")
        return
    if snap.room["state"] in FINAL_STATES:
        await websocket.send_text(_dumps({"t": "ended", "room": room_id, "state": snap.room["state"]}))
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
    channel = await services.hub.join(room_id, conn, known_seq=snap.seq)
    if not channel.muted_loaded:
        async with services.db.read() as session:
            channel.muted |= await muted_users(session, room_id)
        channel.muted_loaded = True
    writer = None
    try:
        since = websocket.query_params.get("since")
        if since is not None and since.isdigit():
            await conn.send_now(await _resume(services, room_id, channel, int(since)))
        else:
            await conn.send_now(await _snapshot(services, room_id, channel, recovered=None))
        if principal is not None:  # the viewer's own events (orders, cases) on the same socket
            user_since = websocket.query_params.get("user_since")
            since_user = int(user_since) if user_since is not None and user_since.isdigit() else None
            await services.hub.follow_user(principal.user_id, conn, since_user)
        writer = conn.start()
        await _read_loop(websocket, ViewerSession(services, channel, conn, principal))
    except WebSocketDisconnect:
        pass
    finally:
        await services.hub.leave(room_id, conn)
        if conn.following is not None:
            await services.hub.leave_user(conn.following, conn)
        if writer is not None and not writer.done():
            if conn.closing is not None:  # let the writer send what is queued, then the close
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await asyncio.shield(writer)
            writer.cancel()


async def _read_loop(websocket: WebSocket, session: ViewerSession) -> None:
    """Hand each message to the session's dispatch table until the viewer leaves or is closed."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None and message.get("bytes") is not None:
            raw = message["bytes"].decode("utf-8", "replace")
        if raw is not None and not await session.handle(raw):
            return
