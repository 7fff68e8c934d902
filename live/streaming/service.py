"""The stream of each room, driven by the media provider's events.

- The room's streamer asks for push credentials; the provider signs them.
- A stream start (a provider callback, or the WebRTC relay itself) is admitted only for a room that may go
  live; with ``go_live="stream"`` it makes a scheduled room live.
- A stream that drops is ``interrupted``; a reconnect inside the grace period resumes it, and the sweep
  ends the room once the grace period has passed.
- When a room ends (by its shop, by staff, by the sweep) the stream is ``ended``: the provider is told to
  cut it, after the commit, and no push is admitted from then on.
- A finished recording becomes a replay in the background; a crash before that is retried by the sweep.
- Every provider event is kept, with what we did about it, for staff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.errors import Conflict, DomainError, Forbidden, NotFound
from commerce.core.identity import Principal
from commerce.core.transitions import record_transition
from live.rooms import actions as rooms
from live.rooms.models import Room, RoomState
from live.rooms.transitions import FINAL
from live.streaming.models import RoomReplay, RoomStream, StreamEventRecord, StreamState
from live.streaming.transitions import STREAM
from media.provider import (
    MediaError,
    MediaProvider,
    PushCredentials,
    StreamEvent,
    StreamEventKind,
    room_of_stream,
    stream_for_room,
)

log = logging.getLogger("yellowcart.streams")

REPLAY_RETRY_AFTER = timedelta(minutes=10)
MAY_PUSH = frozenset({RoomState.SCHEDULED, RoomState.LIVE})


class StreamRefused(Forbidden):
    """A push for a room that may not go live (ended, cancelled, force-ended, shop not qualified...)."""

    code = "stream_refused"


@dataclass(frozen=True)
class Outcome:
    """What we did about one provider event."""

    admitted: bool
    outcome: str
    room_id: int | None = None
    reason: str | None = None
    duplicate: bool = False


@dataclass
class _After:
    """Side effects to run once the transaction has committed."""

    cut: list[str] = field(default_factory=list)  # pushes refused after the fact (a CDN admits by itself)
    replays: list[int] = field(default_factory=list)  # StreamEventRecord ids


class StreamService:
    def __init__(
        self,
        db: Database,
        provider: MediaProvider,
        clock: Clock,
        *,
        go_live: Literal["stream", "manual"] = "stream",
        grace: timedelta = timedelta(seconds=60),
        key_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self.db = db
        self.provider = provider
        self.clock = clock
        self.go_live = go_live
        self.grace = grace
        self.key_ttl = key_ttl
        self._tasks: set[asyncio.Task[None]] = set()
        self._preparing: set[int] = set()

    @property
    def actor_id(self) -> str:
        return f"media:{self.provider.name}"

    # --- the streamer's side -------------------------------------------------------------------------

    async def credentials(self, actor: Principal, room_id: int) -> tuple[PushCredentials, RoomStream]:
        """Signed push credentials for the room's streamer (a room that is scheduled or live)."""
        now = self.clock()
        async with self.db.transaction() as s:
            room = await rooms.get_room(s, room_id, for_update=True)
            await rooms.require_room_manager(s, room, actor)
            if room.streamer_id != actor.user_id:
                raise Forbidden(
                    "only the room's streamer can push to it", details={"streamer_id": room.streamer_id}
                )
            if room.state not in MAY_PUSH:
                raise Conflict(
                    f"room {room.id} is {room.state}; only scheduled or live rooms take a stream",
                    details={"state": room.state},
                )
            name = stream_for_room(room.id)
            creds = self.provider.push_credentials(name, now, self.key_ttl)
            row = await s.get(RoomStream, room.id)
            if row is None:
                row = RoomStream(
                    room_id=room.id, stream=name, state=StreamState.IDLE, went_down_at=None, cut_at=None
                )
                s.add(row)
                await record_transition(
                    s,
                    entity="stream",
                    entity_id=room.id,
                    from_state=None,
                    to_state=StreamState.IDLE,
                    actor_id=actor.user_id,
                    actor_role="streamer",
                    at=now,
                )
            row.provider = self.provider.name
            row.pull = self.provider.pull_urls(name).as_dict()
            row.key_expires_at = creds.expires_at
            row.updated_at = now
        return creds, row

    # --- the provider's side -------------------------------------------------------------------------

    async def admit(self, stream: str) -> int:
        """Check, without changing anything, that a push to ``stream`` would be admitted now (the WebRTC
        relay asks before it sets a publisher up). Returns the room id."""
        room_id = room_of_stream(stream)
        if room_id is None:
            raise NotFound("stream", stream)
        async with self.db.read() as s:
            room = await s.get(Room, room_id)
            row = await s.get(RoomStream, room_id)
        if room is None or row is None:
            raise NotFound("stream", stream)
        refusal = self._refusal(room, row)
        if refusal is not None:
            raise StreamRefused(refusal, details={"room_id": room_id, "state": room.state})
        return room_id

    def _refusal(self, room: Room, row: RoomStream) -> str | None:
        if room.state not in MAY_PUSH or row.state == StreamState.ENDED:
            return f"room {room.id} is {room.state}; its stream is not admitted any more"
        return None

    async def on_event(self, event: StreamEvent) -> Outcome:
        """Apply one provider event (duplicates, by the provider's event id, change nothing)."""
        room_id = room_of_stream(event.stream)
        if room_id is None:
            raise NotFound("stream", event.stream)
        after = _After()
        try:
            async with self.db.transaction() as s:
                result = await self._apply(s, room_id, event, after)
        except IntegrityError:
            # the same provider event id applied by a concurrent delivery: it is a duplicate
            return Outcome(True, "duplicate", room_id, duplicate=True)
        await self._run_after(after)
        return result

    async def _apply(self, s: AsyncSession, room_id: int, event: StreamEvent, after: _After) -> Outcome:
        if event.event_id is not None:
            seen = await s.scalar(
                select(StreamEventRecord).where(
                    StreamEventRecord.provider == self.provider.name,
                    StreamEventRecord.event_id == event.event_id,
                )
            )
            if seen is not None:
                return Outcome(seen.outcome not in {"refused"}, seen.outcome, room_id, duplicate=True)
        room = await s.scalar(select(Room).where(Room.id == room_id).with_for_update())
        if room is None:
            raise NotFound("stream", event.stream)
        row = await s.get(RoomStream, room_id)
        if row is None:
            raise NotFound("stream", event.stream)  # no credentials were ever issued for this room
        now = self.clock()
        outcome = Outcome(True, "noted", room_id)
        if event.kind == StreamEventKind.STARTED:
            outcome = await self._started(s, room, row, now)
            if not outcome.admitted and not self.provider.admits_by_answer:
                after.cut.append(row.stream)
        elif event.kind == StreamEventKind.STOPPED:
            outcome = await self._stopped(s, room, row, now)
        elif event.kind == StreamEventKind.RECORDING_READY:
            outcome = Outcome(True, "replay_pending" if event.recording else "no_recording", room_id)
        record = StreamEventRecord(
            room_id=room_id,
            provider=self.provider.name,
            kind=event.kind.value,
            name=event.name[:64],
            event_id=event.event_id,
            outcome=outcome.outcome,
            at=event.at,
            payload={**event.payload, **({"recording": event.recording} if event.recording else {})},
        )
        s.add(record)
        await s.flush()
        if outcome.outcome == "replay_pending":
            after.replays.append(record.id)
        return outcome

    async def _move(
        self, s: AsyncSession, row: RoomStream, target: StreamState, now: datetime, reason: str | None
    ) -> None:
        previous = row.state
        STREAM.check(previous, target)
        row.state = target
        row.updated_at = now
        await record_transition(
            s,
            entity="stream",
            entity_id=row.room_id,
            from_state=previous,
            to_state=target,
            actor_id=self.actor_id,
            actor_role="system",
            at=now,
            reason=reason,
        )

    def _announce(self, s: AsyncSession, room: Room, row: RoomStream, now: datetime) -> None:
        rooms.room_event(s, room, "stream.state", {"state": row.state, "pull": row.pull}, now)

    async def _started(self, s: AsyncSession, room: Room, row: RoomStream, now: datetime) -> Outcome:
        refusal = self._refusal(room, row)
        if refusal is not None:
            return Outcome(False, "refused", room.id, refusal)
        outcome = "admitted"
        if room.state == RoomState.SCHEDULED and self.go_live == "stream":
            try:
                await rooms.start_by_stream(s, room, self.actor_id, now)
            except DomainError as exc:
                return Outcome(False, "refused", room.id, exc.message)
            outcome = "went_live"
        if row.state == StreamState.PUBLISHING:
            return Outcome(True, "already_publishing", room.id)
        await self._move(s, row, StreamState.PUBLISHING, now, None)
        row.went_down_at = None
        self._announce(s, room, row, now)
        return Outcome(True, outcome, room.id)

    async def _stopped(self, s: AsyncSession, room: Room, row: RoomStream, now: datetime) -> Outcome:
        if row.state != StreamState.PUBLISHING:
            return Outcome(True, "noted", room.id)
        if room.state in FINAL:
            await self._move(s, row, StreamState.ENDED, now, f"room {room.state}")
            self._announce(s, room, row, now)
            return Outcome(True, "ended", room.id)
        await self._move(s, row, StreamState.INTERRUPTED, now, None)
        row.went_down_at = now
        self._announce(s, room, row, now)
        return Outcome(True, "interrupted", room.id)

    # --- the room's end ----------------------------------------------------------------------------

    async def room_closed(self, room_id: int) -> None:
        """The room ended (its shop, staff, or the sweep): end its stream and cut it at the provider.
        Run by the stream-cut reaction, at least once: the stream is marked cut only after the
        provider was told, so a crash in between tells the provider again (which is harmless)."""
        async with self.db.transaction() as s:
            stream = await self._end(s, room_id, self.clock())
        if stream is None:
            return
        try:
            await self.provider.force_stop(stream)
        except MediaError:
            # the stream is ended here whatever the provider says; its next publish is refused
            log.exception("provider could not cut stream %s", stream)
        async with self.db.transaction() as s:
            row = await s.scalar(select(RoomStream).where(RoomStream.room_id == room_id).with_for_update())
            if row is not None and row.cut_at is None:
                row.cut_at = self.clock()

    async def _end(self, s: AsyncSession, room_id: int, now: datetime) -> str | None:
        """End the stream of a room that ended; the stream to cut, unless it was cut already."""
        row = await s.scalar(select(RoomStream).where(RoomStream.room_id == room_id).with_for_update())
        if row is None or row.cut_at is not None:
            return None
        room = await s.get(Room, room_id)
        if room is None or room.state not in FINAL:
            return None
        if row.state != StreamState.ENDED:
            await self._move(s, row, StreamState.ENDED, now, f"room {room.state}")
            self._announce(s, room, row, now)
        return row.stream

    async def sweep(self) -> list[int]:
        """End rooms whose stream stayed down past the grace period; cut streams of rooms that ended
        (in case the process stopped before it could); retry replays left unfinished. Returns the ids
        of the rooms it ended."""
        now = self.clock()
        ended: list[int] = []
        after = _After()
        async with self.db.read() as s:
            lapsed = list(
                await s.scalars(
                    select(RoomStream.room_id).where(
                        RoomStream.state == StreamState.INTERRUPTED,
                        RoomStream.went_down_at <= now - self.grace,
                    )
                )
            )
            uncut = list(
                await s.scalars(
                    select(RoomStream.room_id)
                    .join(Room, Room.id == RoomStream.room_id)
                    .where(RoomStream.cut_at.is_(None), Room.state.in_(list(FINAL)))
                )
            )
            stale = list(
                await s.scalars(
                    select(StreamEventRecord.id).where(
                        StreamEventRecord.outcome == "replay_pending",
                        StreamEventRecord.at <= now - REPLAY_RETRY_AFTER,
                    )
                )
            )
        for room_id in lapsed:
            async with self.db.transaction() as s:
                room = await s.scalar(select(Room).where(Room.id == room_id).with_for_update())
                row = await s.get(RoomStream, room_id)
                if room is None or row is None or row.state != StreamState.INTERRUPTED:
                    continue
                if row.went_down_at is None or row.went_down_at > now - self.grace:
                    continue  # it came back meanwhile
                if room.state == RoomState.LIVE:
                    seconds = int(self.grace.total_seconds())
                    # the room's end is a committed event: the stream-cut reaction cuts the stream,
                    # the ledger mirror closes its sales
                    await rooms.end_by_stream(
                        s, room, self.actor_id, now, f"stream lost for over {seconds} s"
                    )
                    ended.append(room_id)
                await self._end(s, room_id, now)
        for room_id in uncut:  # ended rooms whose reaction has not run yet (or failed): cut them
            await self.room_closed(room_id)
        after.replays.extend(i for i in stale if i not in self._preparing)
        await self._run_after(after)
        return ended

    # --- after the commit ----------------------------------------------------------------------------

    async def _run_after(self, after: _After) -> None:
        for stream in after.cut:
            try:
                await self.provider.force_stop(stream)
            except MediaError:
                log.exception("provider could not cut stream %s", stream)
        for record_id in after.replays:
            if record_id in self._preparing:
                continue
            self._preparing.add(record_id)
            task = asyncio.create_task(self._make_replay(record_id), name=f"replay-{record_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _make_replay(self, record_id: int) -> None:
        try:
            async with self.db.read() as s:
                record = await s.get(StreamEventRecord, record_id)
                if record is None or record.outcome != "replay_pending":
                    return
                room = await s.get(Room, record.room_id)
                want_cover = room is not None and not room.cover_url
            event = StreamEvent(
                kind=StreamEventKind.RECORDING_READY,
                stream=stream_for_room(record.room_id),
                at=record.at,
                name=record.name,
                event_id=record.event_id,
                recording=str(record.payload.get("recording")),
                payload=record.payload,
            )
            try:
                replay = await self.provider.prepare_replay(event, want_cover=want_cover)
            except MediaError:
                log.exception("replay of stream event %s failed", record_id)
                replay, outcome = None, "replay_failed"
            else:
                outcome = "replay_ready" if replay is not None else "replay_empty"
            now = self.clock()
            async with self.db.transaction() as s:
                record = await s.get(StreamEventRecord, record_id)
                if record is None or record.outcome != "replay_pending":
                    return
                record.outcome = outcome
                if replay is None:
                    return
                room = await s.scalar(select(Room).where(Room.id == record.room_id).with_for_update())
                assert room is not None
                source = event.recording or ""
                exists = await s.scalar(
                    select(RoomReplay.id).where(RoomReplay.room_id == room.id, RoomReplay.source == source)
                )
                if exists is None:
                    s.add(
                        RoomReplay(
                            room_id=room.id,
                            source=source,
                            hls=replay.hls,
                            cover=replay.cover,
                            duration_s=replay.duration_s,
                            created_at=now,
                        )
                    )
                if replay.cover and not room.cover_url:
                    room.cover_url = replay.cover
                rooms.room_event(
                    s,
                    room,
                    "room.replay",
                    {"hls": replay.hls, "cover": replay.cover, "duration_s": replay.duration_s},
                    now,
                )
        finally:
            self._preparing.discard(record_id)

    async def drain(self) -> None:
        """Wait for replays being prepared (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- reading ------------------------------------------------------------------------------------

    async def history(self, room_id: int, *, limit: int, before: int | None) -> list[StreamEventRecord]:
        async with self.db.read() as s:
            stmt = select(StreamEventRecord).where(StreamEventRecord.room_id == room_id)
            if before is not None:
                stmt = stmt.where(StreamEventRecord.id < before)
            return list(await s.scalars(stmt.order_by(StreamEventRecord.id.desc()).limit(limit)))
