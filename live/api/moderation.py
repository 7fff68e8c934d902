"""Moderation: the sensitive-word list and review queue (staff); mutes (staff, the room's shop and the
room admins it names)."""

from __future__ import annotations

from sqlalchemy import select

from live.api.routing import Api, Ctx
from live.api.schemas import (
    MuteIn,
    MuteList,
    MuteOut,
    ReviewDecisionIn,
    ReviewOut,
    ReviewPage,
    ReviewsQuery,
    RoomAdminIn,
    RoomAdminList,
    RoomAdminOut,
    WordIn,
    WordList,
    WordOut,
)
from live.moderation import actions
from live.moderation.models import ReviewStatus, RoomMute, WordAction
from live.rooms.actions import get_room, require_room_reader

api = Api()
STAFF = ["staff"]


@api.op(
    "GET", "/staff/moderation/words", summary="Staff: the sensitive-word list", tags=STAFF, response=WordList
)
async def list_words(ctx: Ctx) -> WordList:
    async with ctx.services.db.read() as s:
        rows = await actions.list_words(s, ctx.user)
    return WordList(items=[WordOut.model_validate(r) for r in rows])


@api.op(
    "POST",
    "/staff/moderation/words",
    summary="Staff: add a word (mask: shown masked and queued; block: refused)",
    tags=STAFF,
    body=WordIn,
    response=WordOut,
    status=201,
)
async def add_word(ctx: Ctx) -> WordOut:
    body: WordIn = ctx.body
    async with ctx.services.db.transaction() as s:
        entry = await actions.add_word(s, ctx.user, body.word, WordAction(body.action), ctx.services.clock)
    ctx.services.words.invalidate()
    return WordOut.model_validate(entry)


@api.op(
    "DELETE", "/staff/moderation/words/{word_id:int}", summary="Staff: remove a word", tags=STAFF, status=204
)
async def remove_word(ctx: Ctx) -> None:
    async with ctx.services.db.transaction() as s:
        await actions.remove_word(s, ctx.user, ctx.path["word_id"], ctx.services.clock)
    ctx.services.words.invalidate()


@api.op(
    "GET",
    "/staff/moderation/reviews",
    summary="Staff: the moderation queue of masked danmaku",
    tags=STAFF,
    query=ReviewsQuery,
    response=ReviewPage,
)
async def list_reviews(ctx: Ctx) -> ReviewPage:
    q: ReviewsQuery = ctx.query
    async with ctx.services.db.read() as s:
        rows, total = await actions.list_reviews(
            s,
            ctx.user,
            status=ReviewStatus(q.status) if q.status else None,
            room_id=q.room_id,
            limit=q.limit,
            offset=q.offset,
        )
    return ReviewPage(
        items=[ReviewOut.model_validate(r) for r in rows], total=total, limit=q.limit, offset=q.offset
    )


@api.op(
    "POST",
    "/staff/moderation/reviews/{review_id:int}/decision",
    summary="Staff: approve a queued danmaku, or remove it from every viewer's screen",
    tags=STAFF,
    body=ReviewDecisionIn,
    response=ReviewOut,
)
async def decide_review(ctx: Ctx) -> ReviewOut:
    body: ReviewDecisionIn = ctx.body
    target = ReviewStatus.APPROVED if body.decision == "approve" else ReviewStatus.REMOVED
    async with ctx.services.db.transaction() as s:
        item = await actions.review(s, ctx.user, ctx.path["review_id"], target, ctx.services.clock)
    return ReviewOut.model_validate(item)


@api.op(
    "GET",
    "/rooms/{room_id:int}/mutes",
    summary="Users muted in a room (shop and staff)",
    tags=["moderation"],
    response=MuteList,
)
async def list_mutes(ctx: Ctx) -> MuteList:
    async with ctx.services.db.read() as s:
        room = await get_room(s, ctx.path["room_id"])
        await require_room_reader(s, room, ctx.user)
        rows = await s.scalars(select(RoomMute).where(RoomMute.room_id == room.id).order_by(RoomMute.id))
        return MuteList(items=[MuteOut.model_validate(r) for r in rows])


@api.op(
    "POST",
    "/rooms/{room_id:int}/mutes",
    summary="Mute a user in a room (staff, the room's streamer or operator); idempotent",
    tags=["moderation"],
    body=MuteIn,
    response=MuteOut,
)
async def mute(ctx: Ctx) -> MuteOut:
    body: MuteIn = ctx.body
    async with ctx.services.db.transaction() as s:
        entry = await actions.mute(
            s, ctx.user, ctx.path["room_id"], body.user_id, body.reason, ctx.services.clock
        )
    return MuteOut.model_validate(entry)


@api.op(
    "DELETE",
    "/rooms/{room_id:int}/mutes/{user_id}",
    summary="Unmute a user in a room",
    tags=["moderation"],
    status=204,
)
async def unmute(ctx: Ctx) -> None:
    async with ctx.services.db.transaction() as s:
        await actions.unmute(s, ctx.user, ctx.path["room_id"], ctx.path["user_id"], ctx.services.clock)


@api.op(
    "GET",
    "/rooms/{room_id:int}/admins",
    summary="The room's admins (users the shop named to mute and unmute in the room)",
    tags=["moderation"],
    response=RoomAdminList,
)
async def list_room_admins(ctx: Ctx) -> RoomAdminList:
    async with ctx.services.db.read() as s:
        room = await get_room(s, ctx.path["room_id"])
        await require_room_reader(s, room, ctx.user)
        rows = await actions.list_admins(s, room.id)
        return RoomAdminList(items=[RoomAdminOut.model_validate(r) for r in rows])


@api.op(
    "POST",
    "/rooms/{room_id:int}/admins",
    summary="Name a room admin (the room's streamer or operator); idempotent",
    tags=["moderation"],
    body=RoomAdminIn,
    response=RoomAdminOut,
)
async def name_room_admin(ctx: Ctx) -> RoomAdminOut:
    body: RoomAdminIn = ctx.body
    async with ctx.services.db.transaction() as s:
        entry = await actions.name_admin(s, ctx.user, ctx.path["room_id"], body.user_id, ctx.services.clock)
        return RoomAdminOut.model_validate(entry)


@api.op(
    "DELETE",
    "/rooms/{room_id:int}/admins/{user_id}",
    summary="Take a room admin's role away",
    tags=["moderation"],
    status=204,
)
async def remove_room_admin(ctx: Ctx) -> None:
    async with ctx.services.db.transaction() as s:
        await actions.remove_admin(s, ctx.user, ctx.path["room_id"], ctx.path["user_id"], ctx.services.clock)
