"""The WebSocket protocol the server runs under uvicorn: uvicorn's sans-I/O protocol plus a direct path
for room frames.

A room frame is the same bytes for every viewer of the room, so the hub builds the wire frame once and
writes it straight to each viewer's transport (the ASGI ``websocket.send`` path would encode, frame and
await once per viewer). The direct path is offered to the application as the ASGI scope extension
``yellowcart.direct``; under any other ASGI server the extension is absent and the room channel falls
back to ordinary ASGI sends. Everything else (handshake, per-connection messages, close, keepalive)
stays on uvicorn's code path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

DIRECT_EXTENSION = "yellowcart.direct"
WS_PROTOCOL = "live.wsserver:RoomWebSocketProtocol"  # the value for uvicorn's ``ws`` setting


def text_frame(text: str) -> bytes:
    """An unmasked, uncompressed, final server text frame (valid whatever extensions were negotiated)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectSocket:
    """Writes pre-built frames to one connection's transport; knows whether the peer keeps up."""

    def __init__(self, protocol: RoomWebSocketProtocol) -> None:
        self._p = protocol
        self.on_writable: Callable[[], None] | None = None

    @property
    def open(self) -> bool:
        p = self._p
        return p.handshake_complete and not (p.close_sent or p.disconnected or p.transport.is_closing())

    @property
    def writable(self) -> bool:
        """False while the transport's buffer is above its high-water mark (the peer is not reading)."""
        return self._p.writable.is_set()

    def write(self, wire: bytes) -> bool:
        if not self.open:
            return False
        self._p.transport.write(wire)
        return True

    async def drained(self) -> None:
        await self._p.writable.wait()

    def abort(self) -> None:
        """Drop the connection without a closing handshake (a peer that reads nothing gets nothing)."""
        self._p.transport.abort()


class RoomWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol, offering :class:`DirectSocket` in the ASGI scope."""

    direct: DirectSocket | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # only set when the handshake is accepted
            self.direct = DirectSocket(self)
            scope["extensions"][DIRECT_EXTENSION] = self.direct

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.direct is not None and self.direct.on_writable is not None:
            self.direct.on_writable()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.direct is not None:
            self.direct.on_writable = None
