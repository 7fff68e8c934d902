"""A TCP proxy in front of Redis that can lose chosen pub/sub messages on their way to one process.

It reads what Redis sends as RESP values (RESP2 and RESP3) and forwards each one whole, except
pub/sub ``message`` pushes that ``drop`` says to lose: the network losing a message, with no
disconnect to reveal it. What the client sends goes to Redis untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from tests.e2e.channel import free_port

Value = Any


def _line(buf: bytes, pos: int) -> tuple[bytes, int] | None:
    end = buf.find(b"\r\n", pos)
    return None if end < 0 else (buf[pos:end], end + 2)


def parse(buf: bytes, pos: int = 0) -> tuple[Value, int] | None:
    """One RESP value starting at ``pos``: (value, position after it), or None if incomplete."""
    head = _line(buf, pos)
    if head is None:
        return None
    line, nxt = head
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-", b":", b"_", b"#", b",", b"("):
        return rest, nxt
    if kind in (b"$", b"!", b"="):
        n = int(rest)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            return None
        return buf[nxt : nxt + n], nxt + n + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(rest) * (2 if kind in (b"%", b"|") else 1)
        items: list[Value] = []
        for _ in range(max(n, 0)):
            got = parse(buf, nxt)
            if got is None:
                return None
            item, nxt = got
            items.append(item)
        if kind == b"|":  # an attribute travels ahead of the value it describes
            got = parse(buf, nxt)
            return got
        return (items if n >= 0 else None), nxt
    raise ValueError(f"not RESP: {line[:20]!r}")


class LossyRedis:
    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = free_port()
        self.drop: Callable[[bytes, bytes], bool] = lambda channel, data: False
        self.dropped: list[bytes] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LossyRedis]:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)

        async def upstream() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            buf = b""
            while data := await up_reader.read(65536):
                buf += data
                out = bytearray()
                pos = 0
                while (got := parse(buf, pos)) is not None:
                    value, end = got
                    if not self._lose(value):
                        out += buf[pos:end]
                    pos = end
                buf = buf[pos:]
                if out:
                    writer.write(bytes(out))
                    await writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for w in (writer, up_writer):
                w.close()

    def _lose(self, value: Value) -> bool:
        if isinstance(value, list) and len(value) == 3 and value[0] == b"message":
            channel, data = value[1], value[2]
            if self.drop(channel, data):
                self.dropped.append(data)
                return True
        return False
