"""Which web pages may open a WebSocket to this server (cross-site WebSocket hijacking protection).

A browser sends the page's ``Origin`` with every WebSocket handshake and, unlike for ``fetch``, no CORS
check follows: without this guard any site a signed-in viewer visits could open the room channel with
the viewer's token. Allowed are:

- no ``Origin`` header at all (native apps, servers, command-line clients send none);
- the server's own origin: the ``Host`` the request came to, or ``PUBLIC_URL`` (behind a proxy that
  rewrites ``Host``);
- the origins in ``WS_ALLOWED_ORIGINS`` (``*`` allows every origin).

Anything else is refused before the upgrade: the handshake is answered HTTP 403 with a JSON error body
and the socket is never accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from live.observability import Metrics

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _split(origin: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an origin, or None when it is not one (a path, user info, no host)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def normalize_origin(origin: str) -> str | None:
    """``HTTPS://Shop.Example:443/`` -> ``https://shop.example``; None when ``origin`` is not an origin."""
    split = _split(origin)
    if split is None:
        return None
    scheme, host, port = split
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


class OriginPolicy:
    """Decides whether a handshake's ``Origin`` may open a socket (see the module's docstring)."""

    def __init__(self, public_url: str, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        self.any = "*" in allowed
        self.allowed = {o for o in (normalize_origin(x) for x in [public_url, *allowed] if x != "*") if o}

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self.any:
            return True
        split = _split(origin)
        if split is None:  # "null" (a sandboxed page, a file) or garbage
            return False
        if normalize_origin(origin) in self.allowed:
            return True
        if not host:
            return False
        _scheme, origin_host, origin_port = split
        own = _split(f"{split[0]}://{host}")  # the Host header, read with the origin's scheme
        return own is not None and own[1:] == (origin_host, origin_port)


class OriginGuard:
    """ASGI middleware: refuses a WebSocket handshake from a foreign origin before the upgrade."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy, metrics: Metrics) -> None:
        self.app = app
        self.policy = policy
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers") or []:
            headers.setdefault(name, value)
        origin = headers.get(b"origin")
        host = headers.get(b"host")
        if self.policy.allows(
            origin.decode("latin-1") if origin is not None else None,
            host.decode("latin-1") if host is not None else None,
        ):
            await self.app(scope, receive, send)
            return
        self.metrics.ws_messages.labels("connect", "forbidden_origin").inc()
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(
                JSONResponse(
                    {
                        "error": {
                            "code": "forbidden_origin",
                            "message": "this origin may not open the room channel",
                            "details": {"origin": (origin or b"").decode("latin-1")[:200]},
                        }
                    },
                    status_code=403,
                )
            )
        else:  # a close before the accept: the server answers the handshake with HTTP 403
            await websocket.close()
