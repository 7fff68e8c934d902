"""Shops: live-selling applications, members, and what staff decide."""

from __future__ import annotations

from commerce.core.transitions import history
from commerce.shops import actions
from commerce.shops.conditions import CONDITIONS_VERSION, LIVE_CONDITIONS
from commerce.shops.models import MemberRole
from live.api.presenters import shop_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    ConditionOut,
    ConditionsOut,
    MemberIn,
    MemberList,
    MemberOut,
    ShopApplication,
    ShopDecision,
    ShopOut,
    ShopPage,
    ShopsQuery,
    TransitionList,
    TransitionOut,
)

api = Api()
TAGS = ["shops"]


def _details(body: ShopApplication) -> actions.ShopDetails:
    return actions.ShopDetails(
        name=body.name,
        description=body.description,
        category=body.category,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        business_license_no=body.business_license_no,
        accepted_conditions_version=body.accepted_conditions_version,
    )


@api.op(
    "GET",
    "/shops/live-conditions",
    summary="The conditions for selling live, shown with the form",
    tags=TAGS,
    response=ConditionsOut,
    auth="public",
)
async def live_conditions(ctx: Ctx) -> ConditionsOut:
    return ConditionsOut(
        version=CONDITIONS_VERSION,
        conditions=[ConditionOut(code=c.code, text=c.text) for c in LIVE_CONDITIONS],
        form_fields=list(ShopApplication.model_fields),
    )


@api.op(
    "POST",
    "/shops",
    summary="Register a shop and apply for live selling",
    tags=TAGS,
    body=ShopApplication,
    response=ShopOut,
    status=201,
)
async def apply_for_live(ctx: Ctx) -> ShopOut:
    async with ctx.services.db.transaction() as s:
        shop = await actions.apply_for_live(s, ctx.user, _details(ctx.body), ctx.services.clock)
    return shop_out(shop, private=True)


@api.op(
    "GET",
    "/shops/{shop_id:int}",
    summary="A shop (contact details to members and staff)",
    tags=TAGS,
    response=ShopOut,
    auth="public",
)
async def get_shop(ctx: Ctx) -> ShopOut:
    async with ctx.services.db.read() as s:
        shop = await actions.get_shop(s, ctx.path["shop_id"])
        private = await actions.can_see_private(s, ctx.principal, shop.id)
    return shop_out(shop, private=private, staff=bool(ctx.principal and ctx.principal.is_staff))


@api.op(
    "PUT",
    "/shops/{shop_id:int}/application",
    summary="Correct a rejected application and apply again",
    tags=TAGS,
    body=ShopApplication,
    response=ShopOut,
)
async def resubmit_application(ctx: Ctx) -> ShopOut:
    async with ctx.services.db.transaction() as s:
        shop = await actions.resubmit(
            s, ctx.user, ctx.path["shop_id"], _details(ctx.body), ctx.services.clock
        )
    return shop_out(shop, private=True)


@api.op(
    "GET",
    "/shops/{shop_id:int}/history",
    summary="Every qualification decision of a shop",
    tags=TAGS,
    response=TransitionList,
)
async def shop_history(ctx: Ctx) -> TransitionList:
    async with ctx.services.db.read() as s:
        shop = await actions.get_shop(s, ctx.path["shop_id"])
        if not ctx.user.is_staff:
            await actions.require_member(s, shop.id, ctx.user)
        rows = await history(s, "shop", shop.id)
    return TransitionList(items=[TransitionOut.model_validate(r) for r in rows])


@api.op(
    "GET",
    "/shops/{shop_id:int}/members",
    summary="A shop's operators and streamers",
    tags=TAGS,
    response=MemberList,
)
async def list_members(ctx: Ctx) -> MemberList:
    async with ctx.services.db.read() as s:
        members = await actions.list_members(s, ctx.user, ctx.path["shop_id"])
    return MemberList(items=[MemberOut.model_validate(m) for m in members])


@api.op(
    "POST",
    "/shops/{shop_id:int}/members",
    summary="Add an operator or streamer to the shop",
    tags=TAGS,
    body=MemberIn,
    response=MemberOut,
    status=201,
)
async def add_member(ctx: Ctx) -> MemberOut:
    body: MemberIn = ctx.body
    async with ctx.services.db.transaction() as s:
        member = await actions.add_member(
            s, ctx.user, ctx.path["shop_id"], body.user_id, MemberRole(body.role), ctx.services.clock
        )
    return MemberOut.model_validate(member)


@api.op(
    "DELETE",
    "/shops/{shop_id:int}/members/{user_id}",
    summary="Remove a member from the shop",
    tags=TAGS,
    status=204,
)
async def remove_member(ctx: Ctx) -> None:
    async with ctx.services.db.transaction() as s:
        await actions.remove_member(s, ctx.user, ctx.path["shop_id"], ctx.path["user_id"], ctx.services.clock)


@api.op(
    "GET",
    "/staff/shops",
    summary="Staff: shops and applications by qualification status",
    tags=["staff"],
    query=ShopsQuery,
    response=ShopPage,
)
async def staff_list_shops(ctx: Ctx) -> ShopPage:
    q: ShopsQuery = ctx.query
    async with ctx.services.db.read() as s:
        shops, total = await actions.list_shops(s, ctx.user, status=q.status, limit=q.limit, offset=q.offset)
    return ShopPage(
        items=[shop_out(x, private=True, staff=True) for x in shops],
        total=total,
        limit=q.limit,
        offset=q.offset,
    )


@api.op(
    "POST",
    "/staff/shops/{shop_id:int}/decisions",
    summary="Staff: approve, reject (reason), revoke (reason) or restore live qualification",
    tags=["staff"],
    body=ShopDecision,
    response=ShopOut,
)
async def decide_shop(ctx: Ctx) -> ShopOut:
    body: ShopDecision = ctx.body
    async with ctx.services.db.transaction() as s:
        shop = await actions.decide(
            s, ctx.user, ctx.path["shop_id"], body.decision, body.reason, ctx.services.clock
        )
    return shop_out(shop, private=True, staff=True)
