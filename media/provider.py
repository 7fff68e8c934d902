"""The media provider interface, and what crosses it.

A provider carries no video through this server: a media server or CDN does. What a provider does for us is
issue push credentials, name the pull URLs, turn its stream callbacks into :class:`StreamEvent` values, cut a
stream off, and turn a finished recording into a replay.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from commerce.core.errors import Forbidden, Unauthenticated, Unavailable


class StreamEventKind(StrEnum):
    STARTED = "stream.started"
    STOPPED = "stream.stopped"
    RECORDING_READY = "recording.ready"
    OTHER = "other"  # a callback we keep in the history but act on no further (play, play_done, done...)


@dataclass(frozen=True)
class StreamEvent:
    """One provider callback in our terms. ``payload`` keeps the provider's fields for the stream history."""

    kind: StreamEventKind
    stream: str
    at: datetime
    name: str  # the provider's own name for the callback ("publish", "publish_done", "1", ...)
    event_id: str | None = None  # the provider's id for the callback, where it gives one (for dedupe)
    recording: str | None = None  # where the recording is (a local path or a URL), for RECORDING_READY
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackRequest:
    """A provider's HTTP callback as it arrived (the edge copies it out of the web framework)."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class PushCredentials:
    """Where and how to push. ``server`` + ``stream_key`` is the pair an encoder such as OBS asks for;
    ``url`` is the two joined. WHIP pushes carry ``bearer_token`` in the Authorization header instead."""

    protocol: str  # "rtmp" or "whip"
    url: str
    server: str
    stream_key: str
    expires_at: datetime
    bearer_token: str | None = None


@dataclass(frozen=True)
class PullUrls:
    rtmp: str | None = None
    flv: str | None = None
    hls: str | None = None
    webrtc: str | None = None  # a WHEP endpoint

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Replay:
    """A finished recording ready to play: an HLS VOD playlist, and a cover image if one was taken."""

    hls: str
    cover: str | None = None
    duration_s: float | None = None


class MediaError(Unavailable):
    """A media provider could not do what was asked (its answer kept for the logs)."""

    code = "media_error"


class InvalidCallback(Unauthenticated):
    """A callback whose signature or timestamp does not verify, or that names no stream: refused, nothing
    changes."""

    code = "invalid_callback"


class StreamKeyRefused(Forbidden):
    """A push key that is not ours, is for another stream, or has expired. ``reason`` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason
        self.code = "stream_key_" + reason


EventSink = Callable[[StreamEvent], Awaitable[None]]


class MediaProvider(Protocol):
    """What every provider does. Providers are built by name (``live.media_factory``); unknown names are
    refused."""

    name: str
    # True when refusing the publish callback (a non-2xx answer) refuses the publisher (nginx-rtmp); False
    # when the callback only reports a push the CDN already admitted, so a refusal has to call force_stop.
    admits_by_answer: bool
    # True when the provider reports streams through HTTP callbacks that parse_callback reads; False when it
    # reports them itself through the event sink it was built with (the in-process WebRTC relay).
    has_callbacks: bool

    def push_credentials(self, stream: str, now: datetime, ttl: timedelta) -> PushCredentials:
        """Signed push credentials for a stream, valid until ``now + ttl``."""
        ...

    def pull_urls(self, stream: str) -> PullUrls: ...

    def parse_callback(self, request: CallbackRequest, now: datetime) -> StreamEvent:
        """Verify a callback (raising InvalidCallback, or StreamKeyRefused for a publish with a bad key)
        and parse it."""
        ...

    async def force_stop(self, stream: str) -> None:
        """Drop the stream's publisher now (idempotent: a stream that is not up is not an error).

        Refusing later pushes is the caller's part (it stops admitting the stream); providers that cannot
        be told per push (CDNs) also forbid the stream at their end."""
        ...

    async def prepare_replay(self, event: StreamEvent, *, want_cover: bool) -> Replay | None:
        """Turn a RECORDING_READY event into a replay (None if the recording is empty or missing)."""
        ...

    async def close(self) -> None: ...


_STREAM = re.compile(r"^room-(\d{1,18})$")
STREAM_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"  # what a provider accepts as a stream name


def stream_for_room(room_id: int) -> str:
    """The stream name of a room (one stream per room)."""
    return f"room-{room_id}"


def room_of_stream(stream: str) -> int | None:
    m = _STREAM.match(stream)
    return int(m.group(1)) if m else None
