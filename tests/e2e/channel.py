"""A real server on a loopback port (same event loop) and a WebSocket viewer that follows the protocol."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from live.app import create_app
from live.container import Services
from live.wsserver import WS_PROTOCOL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(services: Services, ws: str = WS_PROTOCOL) -> AsyncIterator[str]:
    """Run the app with ``services`` on 127.0.0.1; yields the ws:// base URL.

    ``ws`` is uvicorn's WebSocket protocol: ours (room frames written directly) by default, or
    ``websockets-sansio`` for the plain ASGI path any other server would take.
    """
    port = free_port()
    config = uvicorn.Config(
        create_app(services.settings, services=services),
        host="127.0.0.1",
        port=port,
        log_config=None,
        ws=ws,
        ws_per_message_deflate=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Viewer:
    """Applies frames as the protocol says: state events with seq above its own, chat, counts."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seq = 0
        self.first: dict[str, Any] = {}  # the first frame, as sent (a snapshot or a resume)
        self.snapshot: dict[str, Any] = {}
        self.state: list[dict[str, Any]] = []
        self.chat: list[dict[str, Any]] = []
        self.counts: dict[str, Any] = {}
        self.other: list[dict[str, Any]] = []
        self.frames = 0
        self.bought: list[dict[str, Any]] = []  # "just bought" notices
        self.max_lag_ms = 0  # receive time minus the server's timestamp, over frames with state events

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[Viewer]:
        async with websockets.connect(url, open_timeout=5, max_size=2**22) as ws:
            v = cls(ws)
            v.first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            v.apply(v.first)
            yield v

    def apply(self, msg: dict[str, Any]) -> None:
        self.frames += 1
        t = msg.get("t")
        if t == "snapshot":
            self.snapshot = msg
            self.seq = msg["seq"]
            self.chat.extend(msg.get("chat", []))
            self.counts = msg.get("counts", {})
        elif t in {"batch", "resume"}:
            if msg.get("state") and "ts" in msg:
                self.max_lag_ms = max(self.max_lag_ms, int(time.time() * 1000) - msg["ts"])
            for ev in msg.get("state", []):
                if ev["seq"] > self.seq:
                    self.state.append(ev)
            self.seq = max(self.seq, msg["seq"])
            self.chat.extend(msg.get("chat", []))
            if "bought" in msg:
                self.bought.append(msg["bought"])
            if "counts" in msg:
                self.counts = msg["counts"]
        else:
            self.other.append(msg)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(msg))

    async def until(self, predicate: Any, timeout: float = 5.0) -> None:
        """Read frames until ``predicate(self)`` holds."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.apply(json.loads(await self.ws.recv()))

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; returns the close code."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(timeout):
                while True:
                    self.apply(json.loads(await self.ws.recv()))
        return self.ws.close_code


async def stalled_viewer(ws_url: str) -> socket.socket:
    """Open a room socket, complete the handshake, then never read again (tiny receive buffer)."""
    host, port_path = ws_url.removeprefix("ws://").split(":", 1)
    port, _, path = port_path.partition("/")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    async with asyncio.timeout(5):
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Read everything the server left in the socket until it is closed or reset; returns it."""
    loop = asyncio.get_running_loop()
    data = bytearray()
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = await loop.sock_recv(sock, 1 << 16)
            except ConnectionResetError:
                return bytes(data)
            if not chunk:
                return bytes(data)
            data += chunk
