"""Live rooms: create, edit while scheduled, go live, end, cancel, subscribe, history, report."""

from __future__ import annotations

from commerce.core.transitions import history
from live.api.presenters import room_out, stream_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    FollowIn,
    FollowOut,
    OptionalReasonIn,
    RoomIn,
    RoomOut,
    RoomPage,
    RoomPatch,
    RoomReport,
    RoomsQuery,
    SubscriptionOut,
    TransitionList,
    TransitionOut,
)
from live.rooms import actions, service
from live.rooms.models import Room
from live.rooms.service import Closing, close_room, listed_rooms
from live.streaming.actions import read_stream

api = Api()
TAGS = ["rooms"]


async def _out(ctx: Ctx, room: Room) -> RoomOut:
    async with ctx.services.db.read() as s:
        counts = await actions.subscriber_counts(s, [room.id])
        subscribed = await actions.is_subscribed(s, ctx.principal, room.id)
        row, replays = await read_stream(s, room.id)
    stream = stream_out(row, replays) if row is not None else None
    return room_out(room, subscribers=counts[room.id], subscribed=subscribed, stream=stream)


@api.op(
    "POST",
    "/rooms",
    summary="Create a room: start now, or schedule a public preview",
    tags=TAGS,
    body=RoomIn,
    response=RoomOut,
    status=201,
)
async def create_room(ctx: Ctx) -> RoomOut:
    body: RoomIn = ctx.body
    data = actions.RoomInput(
        shop_id=body.shop_id,
        title=body.title,
        cover_url=body.cover_url,
        description=body.description,
        start_now=body.start_now,
        scheduled_at=body.scheduled_at,
        streamer_id=body.streamer_id,
    )
    async with ctx.services.db.transaction() as s:
        room = await actions.create_room(s, ctx.user, data, ctx.services.clock)
    return await _out(ctx, room)


@api.op(
    "GET",
    "/rooms",
    summary="Rooms: live first, then scheduled previews, then ended",
    tags=TAGS,
    query=RoomsQuery,
    response=RoomPage,
    auth="public",
)
async def list_rooms(ctx: Ctx) -> RoomPage:
    q: RoomsQuery = ctx.query
    rows, total = await listed_rooms(
        ctx.services, states=q.state, shop_id=q.shop_id, limit=q.limit, offset=q.offset
    )
    return RoomPage(
        items=[room_out(r.room, subscribers=r.subscribers, figures=r.figures) for r in rows],
        total=total,
        limit=q.limit,
        offset=q.offset,
    )


@api.op(
    "GET",
    "/rooms/{room_id:int}",
    summary="A room (guests may read)",
    tags=TAGS,
    response=RoomOut,
    auth="public",
)
async def get_room(ctx: Ctx) -> RoomOut:
    async with ctx.services.db.read() as s:
        room = await actions.get_room(s, ctx.path["room_id"])
    return await _out(ctx, room)


@api.op(
    "PATCH",
    "/rooms/{room_id:int}",
    summary="Edit a scheduled room",
    tags=TAGS,
    body=RoomPatch,
    response=RoomOut,
)
async def update_room(ctx: Ctx) -> RoomOut:
    body: RoomPatch = ctx.body
    async with ctx.services.db.transaction() as s:
        room = await actions.update_room(
            s,
            ctx.user,
            ctx.path["room_id"],
            title=body.title,
            cover_url=body.cover_url,
            description=body.description,
            scheduled_at=body.scheduled_at,
            clock=ctx.services.clock,
        )
    return await _out(ctx, room)


@api.op("POST", "/rooms/{room_id:int}/start", summary="The streamer goes live", tags=TAGS, response=RoomOut)
async def start_room(ctx: Ctx) -> RoomOut:
    async with ctx.services.db.transaction() as s:
        room = await actions.start_room(s, ctx.user, ctx.path["room_id"], ctx.services.clock)
    return await _out(ctx, room)


@api.op("POST", "/rooms/{room_id:int}/end", summary="End the broadcast", tags=TAGS, response=RoomOut)
async def end_room(ctx: Ctx) -> RoomOut:
    room = await close_room(ctx.services, ctx.user, ctx.path["room_id"], Closing.END)
    return await _out(ctx, room)


@api.op(
    "POST",
    "/rooms/{room_id:int}/cancel",
    summary="Cancel a scheduled room",
    tags=TAGS,
    body=OptionalReasonIn,
    response=RoomOut,
)
async def cancel_room(ctx: Ctx) -> RoomOut:
    body: OptionalReasonIn = ctx.body
    room = await close_room(ctx.services, ctx.user, ctx.path["room_id"], Closing.CANCEL, body.reason)
    return await _out(ctx, room)


@api.op(
    "PUT",
    "/rooms/{room_id:int}/subscription",
    summary="Subscribe to a scheduled room (idempotent)",
    tags=TAGS,
    response=SubscriptionOut,
)
async def subscribe(ctx: Ctx) -> SubscriptionOut:
    async with ctx.services.db.transaction() as s:
        await actions.subscribe(s, ctx.user, ctx.path["room_id"], ctx.services.clock)
    return await _subscription(ctx)


@api.op(
    "DELETE",
    "/rooms/{room_id:int}/subscription",
    summary="Unsubscribe (idempotent)",
    tags=TAGS,
    response=SubscriptionOut,
)
async def unsubscribe(ctx: Ctx) -> SubscriptionOut:
    async with ctx.services.db.transaction() as s:
        await actions.unsubscribe(s, ctx.user, ctx.path["room_id"])
    return await _subscription(ctx)


async def _subscription(ctx: Ctx) -> SubscriptionOut:
    room_id = ctx.path["room_id"]
    async with ctx.services.db.read() as s:
        counts = await actions.subscriber_counts(s, [room_id])
        subscribed = await actions.is_subscribed(s, ctx.principal, room_id)
    return SubscriptionOut(room_id=room_id, subscribed=subscribed, subscriber_count=counts[room_id])


@api.op(
    "GET",
    "/rooms/{room_id:int}/history",
    summary="Every state change of a room (shop and staff)",
    tags=TAGS,
    response=TransitionList,
)
async def room_history(ctx: Ctx) -> TransitionList:
    async with ctx.services.db.read() as s:
        room = await actions.get_room(s, ctx.path["room_id"])
        await actions.require_room_reader(s, room, ctx.user)
        rows = await history(s, "room", room.id)
    return TransitionList(items=[TransitionOut.model_validate(r) for r in rows])


@api.op(
    "GET",
    "/rooms/{room_id:int}/report",
    summary="The room's report (final once the room has ended)",
    tags=TAGS,
    response=RoomReport,
)
async def room_report(ctx: Ctx) -> RoomReport:
    result = await service.room_report(ctx.services, ctx.user, ctx.path["room_id"])
    return RoomReport.model_validate(result, from_attributes=True)


@api.op(
    "PUT",
    "/streamers/{streamer_id}/follow",
    summary="Follow a streamer (from a room, if given); following twice changes nothing",
    tags=TAGS,
    body=FollowIn,
    response=FollowOut,
)
async def follow_streamer(ctx: Ctx) -> FollowOut:
    body: FollowIn = ctx.body
    async with ctx.services.db.transaction() as s:
        new = await actions.follow(s, ctx.user, ctx.path["streamer_id"], body.room_id, ctx.services.clock())
    return FollowOut(streamer_id=ctx.path["streamer_id"], following=True, new=new)


@api.op(
    "DELETE",
    "/streamers/{streamer_id}/follow",
    summary="Stop following a streamer",
    tags=TAGS,
    response=FollowOut,
)
async def unfollow_streamer(ctx: Ctx) -> FollowOut:
    async with ctx.services.db.transaction() as s:
        await actions.unfollow(s, ctx.user, ctx.path["streamer_id"])
    return FollowOut(streamer_id=ctx.path["streamer_id"], following=False, new=False)
