"""Who am I: the token's identity and the shops I belong to."""

from __future__ import annotations

from commerce.shops.actions import my_shops
from live.api.routing import Api, Ctx
from live.api.schemas import MeOut, MyShop

api = Api()


@api.op("GET", "/me", summary="The caller's identity, roles and shops", tags=["identity"], response=MeOut)
async def me(ctx: Ctx) -> MeOut:
    user = ctx.user
    async with ctx.services.db.read() as s:
        shops = await my_shops(s, user)
    return MeOut(
        user_id=user.user_id,
        name=user.name,
        roles=sorted(r.value for r in user.roles),
        shops=[
            MyShop(shop_id=sh.id, name=sh.name, role=m.role, live_status=sh.live_status) for sh, m in shops
        ],
    )
