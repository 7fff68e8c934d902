"""A minimal WebSocket client for load tests: an asyncio Protocol that parses frames by hand.

It costs far less per frame than a general client, so the load client is not what limits a benchmark.
It reads text frames, answers pings, and hands each text payload (bytes) to a callback; it never sends
data frames of its own except pongs and the close answer.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(body)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + body


class FrameReader(asyncio.Protocol):
    def __init__(self, on_text: Callable[[bytes], None], handshake: bytes) -> None:
        self.on_text = on_text
        self.handshake = handshake
        self.buf = bytearray()
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.handshake)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            if b" 101 " not in status:
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            del self.buf[: end + 4]
            self.upgraded = True
            self.ready.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self.buf
        pos = 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if len(buf) - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_text(payload)
            elif opcode == 9 and self.transport is not None:
                self.transport.write(_masked(0xA, payload))
            elif opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if self.transport is not None:
                    self.transport.write(_masked(0x8, payload[:2]))
                    self.transport.close()
                if not self.closed.done():
                    self.closed.set_result(code)
                break
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed before upgrade"))
        if not self.closed.done():
            self.closed.set_result(1006)


async def connect(url: str, on_text: Callable[[bytes], None]) -> FrameReader:
    """Open a WebSocket to ``url`` (ws:// only) and deliver text payloads to ``on_text``."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: FrameReader(on_text, handshake), parts.hostname or "127.0.0.1", parts.port or 80
    )
    await proto.ready
    return proto
