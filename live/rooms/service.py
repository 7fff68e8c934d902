"""Room actions that own their transaction, one per business fact, called once by the edge: a room's
end (by its shop, cancelled while scheduled, or force-ended by staff). What follows the end (its
stream cut, its sales closed in the stock ledger, cached sale facts dropped) are reactions to the committed
``room.state`` event (``live.reactions``); the action waits for them, bounded, so its answer shows
them, and a crash right after the commit only delays them."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from commerce.core import failpoints
from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.identity import Principal
from live.reactions import Reactions
from live.rooms import actions
from live.rooms.models import Room


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
