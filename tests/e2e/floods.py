"""The reliability tester's floods and a foreign page's handshake, as a client sends them (used by the
single-process and the two-process tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import websockets
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.e2e.channel import Viewer

N = 10_000  # of each kind, as the tester sent them
FLOODS = {
    "bad_json": ["{not json"] * N,
    "unknown_type": [json.dumps({"t": "dance"})] * N,
    "ping": [json.dumps({"t": "ping"})] * N,
    "like": [json.dumps({"t": "like", "n": 50})] * N,
}
EVERYTHING = [m for kind in FLOODS.values() for m in kind]


async def flood(url: str, messages: list[str]) -> tuple[int | None, Viewer]:
    """Send ``messages`` as fast as the socket takes them while reading the answers; returns the close
    code the server ended with (None if it never closed) and the viewer with what it received."""
    async with Viewer.connect(url) as v:
        reader = asyncio.create_task(v.closed(timeout=30))
        with contextlib.suppress(websockets.ConnectionClosed):
            for m in messages:
                await v.ws.send(m)
        code = await reader
    return code, v


async def refused_handshake(url: str, origin: str) -> tuple[int, dict[str, Any]]:
    """Open a socket as a page of ``origin``; returns the HTTP status and JSON body of the refusal."""
    try:
        async with websockets.connect(url, origin=Origin(origin), open_timeout=5):
            pass
    except InvalidStatus as exc:
        return exc.response.status_code, json.loads(exc.response.body or b"{}")
    raise AssertionError(f"a page of {origin} was allowed to open {url}")


async def accepted(url: str, origin: str | None) -> str:
    """Open a socket as a page of ``origin`` (None: no Origin header); returns the first frame's type."""
    async with websockets.connect(
        url, origin=None if origin is None else Origin(origin), open_timeout=5
    ) as ws:
        return str(json.loads(await asyncio.wait_for(ws.recv(), 5))["t"])
