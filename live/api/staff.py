"""Platform staff: every room by state, force-end, the audit log."""

from __future__ import annotations

from commerce.core import audit
from commerce.core.identity import Role
from live.api.presenters import room_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    AuditOut,
    AuditPage,
    AuditQuery,
    ReasonIn,
    RoomOut,
    RoomPage,
    RoomsQuery,
)
from live.rooms import actions
from live.rooms.service import Closing, close_room
from live.rooms.service import staff_rooms as staff_rooms_of

api = Api()
TAGS = ["staff"]


@api.op(
    "GET",
    "/staff/rooms",
    summary="Staff: every room, live first",
    tags=TAGS,
    query=RoomsQuery,
    response=RoomPage,
)
async def staff_rooms(ctx: Ctx) -> RoomPage:
    q: RoomsQuery = ctx.query
    rows, total = await staff_rooms_of(
        ctx.services, ctx.user, states=q.state, shop_id=q.shop_id, limit=q.limit, offset=q.offset
    )
    items = [room_out(r.room, subscribers=r.subscribers, figures=r.figures) for r in rows]
    return RoomPage(items=items, total=total, limit=q.limit, offset=q.offset)


@api.op(
    "POST",
    "/staff/rooms/{room_id:int}/force-end",
    summary="Staff: force-end a room, with a reason",
    tags=TAGS,
    body=ReasonIn,
    response=RoomOut,
)
async def force_end(ctx: Ctx) -> RoomOut:
    body: ReasonIn = ctx.body
    room = await close_room(ctx.services, ctx.user, ctx.path["room_id"], Closing.FORCE_END, body.reason)
    async with ctx.services.db.read() as s:
        counts = await actions.subscriber_counts(s, [room.id])
    return room_out(room, subscribers=counts[room.id])


@api.op(
    "GET",
    "/staff/audit-log",
    summary="Staff: the audit log of staff and operator actions",
    tags=TAGS,
    query=AuditQuery,
    response=AuditPage,
)
async def audit_log(ctx: Ctx) -> AuditPage:
    ctx.user.require(Role.PLATFORM_STAFF)
    q: AuditQuery = ctx.query
    async with ctx.services.db.read() as s:
        rows, total = await audit.search(
            s,
            action=q.action,
            target_type=q.target_type,
            target_id=q.target_id,
            actor_id=q.actor_id,
            limit=q.limit,
            offset=q.offset,
        )
    return AuditPage(
        items=[AuditOut.model_validate(r) for r in rows], total=total, limit=q.limit, offset=q.offset
    )
