"""What follows a room's end for its stream, as a consumer of committed events (``live.reactions``):
the stream is ended and cut at the media provider. Idempotent: a stream already cut is left alone, and
telling the provider twice is harmless."""

from __future__ import annotations

from collections.abc import Sequence

from live.container import Services
from live.events import Event
from live.reactions import Consumer
from live.rooms.transitions import FINAL

STREAM_CUT = "stream-cut"


def consumers(services: Services) -> list[Consumer]:
    async def stream_cut(events: Sequence[Event]) -> None:
        ended = {int(ev.payload["room_id"]) for ev in events if ev.payload.get("state") in FINAL}
        for room_id in sorted(ended):
            await services.streams.room_closed(room_id)

    return [Consumer(STREAM_CUT, frozenset({"room.state"}), stream_cut)]
