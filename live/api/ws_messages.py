"""What a viewer sends on the room channel (docs/PROTOCOL.md, *Client to server*): one handler per message
type in a dispatch table, and the limits that keep one connection from flooding the server.

Each connection has a :class:`ViewerSession`: who it is, and its allowances (token buckets) for danmaku,
likes, pings and refusals. A handler parses its message and calls one action; it refuses by raising a
``DomainError``, which becomes an ``error`` frame. Every refused or excessive message (bad JSON, a bad
or unknown message, an invalid field, a refused danmaku or token, likes or pings beyond their limits)
takes one token from the refusal allowance (``WS_FLOOD_BURST`` at once, ``WS_FLOOD_RATE_PER_SECOND``
sustained); when it is spent the connection is closed with 4029. A well-behaved client, which keeps to
the documented limits, is never refused and never closed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from commerce.core.errors import DomainError
from commerce.core.identity import Principal
from live.close_codes import CLOSE_FLOOD, CLOSE_TOO_BIG
from live.connection import Connection
from live.container import Services
from live.hub import RoomChannel
from live.moderation.service import send_danmaku

Monotonic = Callable[[], float]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, monotonic: Monotonic = time.monotonic) -> None:
        self.rate, self.burst = rate, float(burst)
        self._now = monotonic
        self.tokens, self.at = float(burst), monotonic()

    def _refill(self) -> None:
        now = self._now()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self) -> bool:
        return self.take_up_to(1) == 1

    def take_up_to(self, n: int) -> int:
        """Take as many of ``n`` tokens as there are (whole ones); returns how many."""
        self._refill()
        granted = min(n, int(self.tokens))
        self.tokens -= granted
        return granted


class MessageRefused(DomainError):
    """A message the channel does not take; ``code`` is the error code the viewer gets."""

    def __init__(self, code: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.code = code


class ViewerSession:
    """One connection's side of the room channel: its viewer, its room, its allowances."""

    def __init__(
        self,
        services: Services,
        channel: RoomChannel,
        conn: Connection,
        principal: Principal | None,
        *,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        s = services.settings
        self.services, self.channel, self.conn, self.principal = services, channel, conn, principal
        self.chat = TokenBucket(s.chat_rate_per_second, s.chat_burst, monotonic)
        self.likes = TokenBucket(s.likes_per_second, s.likes_per_second, monotonic)
        self.pings = TokenBucket(s.ws_pings_per_minute / 60, s.ws_pings_per_minute, monotonic)
        self.refusals = TokenBucket(s.ws_flood_rate_per_second, s.ws_flood_burst, monotonic)

    async def handle(self, raw: str) -> bool:
        """Handle one message from the viewer; False when the connection is closing (flood, too big)."""
        limit = self.services.settings.ws_max_message_bytes
        if len(raw) > limit or len(raw.encode()) > limit:
            self._count("?", "too_big")
            self.conn.close_soon(CLOSE_TOO_BIG, f"message larger than {limit} bytes")
            return False
        kind, ref = "?", None
        try:
            try:
                msg = json.loads(raw)
            except ValueError:
                raise MessageRefused("bad_json", "messages are JSON objects") from None
            if not isinstance(msg, dict) or not isinstance(msg.get("t"), str):
                raise MessageRefused("bad_message", 'messages are objects with a string "t"')
            kind, ref = msg["t"], msg.get("id")
            handler = HANDLERS.get(kind)
            if handler is None:
                raise MessageRefused("unknown_type", f"unknown message type {kind[:32]!r}")
            await handler(self, msg)
        except DomainError as exc:
            return await self._refuse(kind, exc, ref)
        self._count(kind, "ok")
        return True

    async def _refuse(self, kind: str, exc: DomainError, ref: Any) -> bool:
        self._count(kind, exc.code)
        body: dict[str, Any] = {"t": "error", "code": exc.code, "message": exc.message, "id": ref}
        if exc.details:
            body["details"] = exc.details
        await self.conn.send_now(dumps(body))
        if self.refusals.take():
            return True
        self._count(kind, "flood")
        self.conn.close_soon(CLOSE_FLOOD, "flooding: too many refused messages")
        return False

    def _count(self, kind: str, outcome: str) -> None:
        label = kind if kind in HANDLERS else "other"
        self.services.metrics.ws_messages.labels(label, outcome).inc()


async def _ping(s: ViewerSession, msg: dict[str, Any]) -> None:
    if not s.pings.take():
        limit = s.services.settings.ws_pings_per_minute
        raise MessageRefused("rate_limited", f"too many pings; at most {limit} a minute")
    await s.conn.send_now(dumps({"t": "pong", "id": msg.get("id"), "ts": int(time.time() * 1000)}))


async def _auth(s: ViewerSession, msg: dict[str, Any]) -> None:
    s.principal = s.services.tokens.verify(str(msg.get("token", "")))
    s.conn.user_id = s.principal.user_id
    await s.conn.send_now(dumps({"t": "authed", "id": msg.get("id"), "user_id": s.principal.user_id}))
    since = msg.get("user_since")  # as the connect parameter: resume the viewer's own events
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise MessageRefused("invalid", "user_since must be a non-negative integer")
    await s.services.hub.follow_user(s.principal.user_id, s.conn, since)


async def _like(s: ViewerSession, msg: dict[str, Any]) -> None:
    most = s.services.settings.likes_max_per_message
    n = msg.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= most:
        raise MessageRefused("invalid", f"n must be 1-{most}")
    counted = s.likes.take_up_to(n)
    if counted:
        s.services.hub.add_likes(s.channel.room_id, counted)
    if counted < n:
        per_second = s.services.settings.likes_per_second
        raise MessageRefused(
            "rate_limited",
            f"too many likes: at most {per_second} a second; {counted} of {n} counted",
            details={"counted": counted},
        )


async def _chat(s: ViewerSession, msg: dict[str, Any]) -> None:
    services = s.services
    data = await send_danmaku(
        services.db,
        services.words,
        services.hub,
        room_id=s.channel.room_id,
        sender=s.principal,
        text=msg.get("text"),
        muted=s.channel.muted,
        allowance=s.chat,
        max_chars=services.settings.chat_max_chars,
        clock=services.clock,
    )
    if msg.get("id") is not None:
        await s.conn.send_now(dumps({"t": "ack", "id": msg["id"], "chat_id": data["id"]}))


Handler = Callable[[ViewerSession, dict[str, Any]], Awaitable[None]]

HANDLERS: dict[str, Handler] = {"ping": _ping, "auth": _auth, "like": _like, "chat": _chat}
