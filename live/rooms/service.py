"""Room actions that own their transaction, one per business fact, called once by the edge: a room's
end (by its shop, cancelled while scheduled, or force-ended by staff); and the reads that join the
database with the live figures over every process (the room report, staff's room list).

What follows the end (its stream cut, its sales closed in the stock ledger, cached sale facts dropped)
are reactions to the committed ``room.state`` event (``live.reactions``); the action waits for them,
bounded, so its answer shows them, and a crash right after the commit only delays them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from commerce.core import failpoints
from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.identity import Principal, Role
from live.broker import RoomFigures
from live.reactions import Reactions
from live.rooms import actions, report
from live.rooms.models import Room, RoomState


class Closing(StrEnum):
    END = "end"  # the shop ends its broadcast
    CANCEL = "cancel"  # the shop cancels a scheduled room
    FORCE_END = "force_end"  # platform staff end a room that breaks the rules (a reason is required)


class RoomDeps(Protocol):
    @property
    def db(self) -> Database: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def reactions(self) -> Reactions: ...


async def close_room(
    deps: RoomDeps, actor: Principal, room_id: int, how: Closing, reason: str | None = None
) -> Room:
    async with deps.db.transaction() as s:
        if how == Closing.END:
            room = await actions.end_room(s, actor, room_id, deps.clock)
        elif how == Closing.CANCEL:
            room = await actions.cancel_room(s, actor, room_id, reason, deps.clock)
        else:
            room = await actions.force_end(s, actor, room_id, reason or "", deps.clock)
    failpoints.reached(failpoints.ROOM_END_COMMITTED)  # a crash test may stop the process here
    await deps.reactions.settle()
    return room


class LiveFigures(Protocol):
    async def figures(self, room_id: int) -> RoomFigures:
        """A room's live figures over every process (``live.hub.Hub``)."""
        ...


class ReadDeps(Protocol):
    @property
    def db(self) -> Database: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def hub(self) -> LiveFigures: ...


async def room_report(deps: ReadDeps, actor: Principal, room_id: int) -> report.RoomReport:
    """The room's report as the caller may read it, with the audience over every process."""
    async with deps.db.read() as s:
        result = await report.build(s, actor, room_id, deps.clock)
    return report.with_audience(result, await deps.hub.figures(result.room_id))


@dataclass(frozen=True)
class StaffRoom:
    room: Room
    subscribers: int
    figures: RoomFigures | None  # a live room's figures over every process


async def staff_rooms(
    deps: ReadDeps,
    actor: Principal,
    *,
    states: list[RoomState] | None,
    shop_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[StaffRoom], int]:
    """Staff: every room (live first), with subscribers, and the live figures of the live ones."""
    actor.require(Role.PLATFORM_STAFF)
    return await listed_rooms(deps, states=states, shop_id=shop_id, limit=limit, offset=offset)


async def listed_rooms(
    deps: ReadDeps,
    *,
    states: list[RoomState] | None,
    shop_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[StaffRoom], int]:
    """Rooms as anyone may list them (live first), with subscribers and the live rooms' figures (online
    now, peak, likes: what a room's page shows every viewer anyway)."""
    async with deps.db.read() as s:
        rooms, total = await actions.list_rooms(s, states=states, shop_id=shop_id, limit=limit, offset=offset)
        counts = await actions.subscriber_counts(s, [r.id for r in rooms])
    rows = [
        StaffRoom(r, counts[r.id], await deps.hub.figures(r.id) if r.state == RoomState.LIVE else None)
        for r in rooms
    ]
    return rows, total
