"""Streams: push credentials, where to pull, replays, the stream's event history, provider callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from live.api.schemas.common import MAX_ID, Out, Query


class ReplayOut(Out):
    hls: str
    cover: str | None
    duration_s: float | None
    created_at: datetime


class StreamOut(Out):
    provider: str
    state: str = Field(description="idle, publishing, interrupted or ended")
    pull: dict[str, str] = Field(description="pull URLs by protocol: rtmp, flv, hls, webrtc (WHEP)")
    replays: list[ReplayOut] = Field(default_factory=list)
    play_token: str | None = Field(None, description="bearer token for the WHEP endpoint, where there is one")


class PushCredentialsOut(Out):
    protocol: str = Field(description="rtmp or whip")
    url: str = Field(description="the whole push URL (server and stream key joined)")
    server: str = Field(description="for encoders that ask for a server and a stream key apart")
    stream_key: str
    bearer_token: str | None = Field(None, description="WHIP: send as 'Authorization: Bearer <token>'")
    expires_at: datetime
    stream: StreamOut


class StreamEventOut(Out):
    id: int
    kind: str
    name: str
    event_id: str | None
    outcome: str
    at: datetime
    payload: dict[str, Any]


class StreamEventPage(Out):
    items: list[StreamEventOut]
    next_before: int | None = Field(None, description="pass as `before` for the next (older) page")


class StreamEventsQuery(Query):
    limit: int = Field(100, ge=1, le=500)
    before: int | None = Field(None, ge=1, le=MAX_ID)


class CallbackAnswer(Out):
    outcome: str
