"""One viewer's connection: a bounded send queue with a stated policy for slow clients.

Policy, when a connection has ``max_frames`` frames waiting:
1. the oldest frame that carries only chat, likes or counts is dropped (chat is lossy by design);
2. if every waiting frame carries state events, the whole backlog is collapsed into one coalesced
   frame holding the latest state of each listing and of the room (nothing lost, older steps skipped);
3. a connection that needed to coalesce more than ``max_coalesce`` times within ``lag_window``
   seconds is closed with 4008 (slow consumer); the client resumes from its last sequence number.
The hub only ever calls ``offer``, which never waits: one slow viewer cannot delay the room.

Two ways out. Under our uvicorn protocol (``live.wsserver``) a connection has a :class:`DirectSink`: a
frame goes straight to the transport when nothing is queued and the peer keeps up (the transport's
buffer is under its high-water mark); otherwise it waits in the queue, which drains when the transport
says it is writable again. Elsewhere (any ASGI server) a writer task sends the queue through ASGI.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.close_codes import CLOSE_SLOW_CONSUMER
from live.wsserver import text_frame


@dataclass(frozen=True)
class Frame:
    """A frame encoded once for the whole room; ``events`` are its state events (shared, read-only).
    ``lane`` "user" marks a frame of the viewer's own events: never dropped, never coalesced, and its
    ``last_seq`` (0) is not the room's."""

    text: str
    last_seq: int
    events: tuple[dict[str, Any], ...] = ()
    lane: str = "room"
    _wire: list[bytes] = field(default_factory=list, compare=False, repr=False)

    @property
    def wire(self) -> bytes:
        """The WebSocket frame, built on first use and then shared by every viewer."""
        if not self._wire:
            self._wire.append(text_frame(self.text))
        return self._wire[0]

    @property
    def has_state(self) -> bool:
        return bool(self.events) or self.lane != "room"


def coalesce_key(event: dict[str, Any]) -> tuple[Any, ...]:
    kind = str(event.get("kind", ""))
    if kind.startswith("listing."):
        return ("listing", event.get("listing_id"))
    if kind == "room.explaining":
        return ("explaining",)
    if kind == "cart.order":
        return ("order",)
    if kind.startswith("room."):
        return ("room",)
    return ("other", event.get("seq"))


def coalesce(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge events per listing (and per room aspect): later fields win, the newest seq is kept."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for ev in events:
        key = coalesce_key(ev)
        merged[key] = {**merged.get(key, {}), **ev}
    return sorted(merged.values(), key=lambda e: int(e.get("seq", 0)))


@dataclass
class ConnectionStats:
    frames_sent: int = 0
    bytes_sent: int = 0
    chat_dropped: int = 0
    coalesced: int = 0


class DirectSink(Protocol):
    """Direct writes to a connection's transport (``live.wsserver.DirectSocket``)."""

    on_writable: Callable[[], None] | None

    @property
    def writable(self) -> bool: ...

    def write(self, wire: bytes) -> bool: ...

    async def drained(self) -> None: ...

    def abort(self) -> None: ...


class Connection:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        user_id: str | None,
        direct: DirectSink | None = None,
        close_timeout: float = 5.0,
        max_frames: int = 64,
        max_coalesce: int = 3,
        lag_window: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._close = close
        self.user_id = user_id
        self.following: str | None = None  # the user whose own events this connection receives
        self.max_frames = max_frames
        self._max_coalesce = max_coalesce
        self._lag_window = lag_window
        self._now = monotonic
        self._queue: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._coalesce_times: deque[float] = deque()
        self.watched_until = monotonic()  # watch time is counted up to here (see Hub)
        self.stats = ConnectionStats()
        self.delivered_seq = 0
        self.closing: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._direct = direct
        self._close_timeout = close_timeout
        self.on_drop: Callable[[str], None] | None = None

    @property
    def direct(self) -> DirectSink | None:
        return self._direct

    @property
    def backlog(self) -> int:
        return len(self._queue)

    def offer(self, frame: Frame) -> None:
        """Queue a frame without waiting; apply the slow-client policy when the queue is full."""
        if self.closing is not None:
            return
        direct = self._direct
        if direct is not None and self._writer is not None and not self._queue and direct.writable:
            self._put(direct, frame)
            return
        if len(self._queue) >= self.max_frames:
            self._make_room()
        self._queue.append(frame)
        if direct is not None and self._writer is not None:
            self._pump()
        else:
            self._wake.set()

    def _put(self, direct: DirectSink, frame: Frame) -> None:
        if direct.write(frame.wire):
            self.stats.frames_sent += 1
            self.stats.bytes_sent += len(frame.text)
            if frame.last_seq > self.delivered_seq:
                self.delivered_seq = frame.last_seq

    def _pump(self) -> None:
        """Direct mode: write queued frames while the peer keeps up; close once the queue is empty."""
        direct = self._direct
        assert direct is not None
        while self._queue and direct.writable:
            self._put(direct, self._queue.popleft())
        if self.closing is not None and not self._queue:
            self._wake.set()

    def _make_room(self) -> None:
        for i, queued in enumerate(self._queue):
            if not queued.has_state:
                del self._queue[i]
                self.stats.chat_dropped += 1
                if self.on_drop:
                    self.on_drop("chat")
                return
        now = self._now()
        while self._coalesce_times and now - self._coalesce_times[0] > self._lag_window:
            self._coalesce_times.popleft()
        self._coalesce_times.append(now)
        if len(self._coalesce_times) > self._max_coalesce:
            self._queue.clear()
            self.close_soon(CLOSE_SLOW_CONSUMER, "slow consumer: resume from your last seq")
            if self.on_drop:
                self.on_drop("closed")
            return
        room = [f for f in self._queue if f.lane == "room"]
        kept = [f for f in self._queue if f.lane != "room"]  # the viewer's own events stay as they are
        self._queue.clear()
        self._queue.extend(kept)
        if not room:
            return
        events = [ev for f in room for ev in f.events]
        last = max(f.last_seq for f in room)
        merged = coalesce(events)
        text = json.dumps(
            {"t": "batch", "seq": last, "coalesced": True, "state": merged, "chat": []}, separators=(",", ":")
        )
        self._queue.append(Frame(text, last, tuple(merged)))
        self.stats.coalesced += 1
        if self.on_drop:
            self.on_drop("coalesced")

    def close_soon(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent."""
        if self.closing is None:
            self.closing = (code, reason)
            self._wake.set()

    async def send_now(self, text: str) -> None:
        await self._send(text)
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(text)

    def start(self) -> asyncio.Task[None]:
        """Begin sending room frames (after the snapshot): frames offered before now go out first."""
        self._writer = asyncio.create_task(self._write_loop())
        if self._direct is not None:
            self._direct.on_writable = self._pump
            self._pump()
        return self._writer

    async def _write_loop(self) -> None:
        try:
            await self._write_frames()
        except Exception:  # the peer went away mid-send; the reader side notices and cleans up
            self._queue.clear()
            self.closing = self.closing or (1006, "peer gone")

    async def _write_frames(self) -> None:
        if self._direct is not None:
            await self._close_direct(self._direct)
            return
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                frame = self._queue.popleft()
                await self.send_now(frame.text)
                if frame.last_seq > self.delivered_seq:
                    self.delivered_seq = frame.last_seq
            if self.closing is not None:
                code, reason = self.closing
                await self._close(code, reason)
                return

    async def _close_direct(self, direct: DirectSink) -> None:
        """Direct mode: frames are written by ``offer``/``_pump``; this task only performs the close."""
        while self.closing is None:
            await self._wake.wait()
            self._wake.clear()
        code, reason = self.closing
        try:  # the peer gets ``close_timeout`` to take what is queued, then the close frame
            async with asyncio.timeout(self._close_timeout):
                while self._queue or not direct.writable:
                    await direct.drained()
                    self._pump()
        except TimeoutError:  # it reads nothing, so it could not receive a close frame either
            direct.abort()
            return
        await self._close(code, reason)
