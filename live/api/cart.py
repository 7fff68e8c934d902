"""The room cart: pin products, order, flip status, live price, "explaining now"."""

from __future__ import annotations

from commerce.core.transitions import history
from live.api.presenters import listing_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    CartOrderIn,
    CartOut,
    ExplainIn,
    ListingIn,
    ListingOut,
    ListingPriceIn,
    ListingStatusIn,
    TransitionList,
    TransitionOut,
)
from live.cart import actions, service
from live.rooms.actions import get_room, require_room_reader

api = Api()
TAGS = ["cart"]


async def _cart(ctx: Ctx, room_id: int) -> CartOut:
    async with ctx.services.db.read() as s:
        room = await get_room(s, room_id)
        lines = await actions.cart(s, room_id, ctx.services.orders.stock)
    return CartOut(
        room_id=room.id,
        room_state=room.state,
        explaining_listing_id=room.explaining_listing_id,
        listings=[listing_out(line, room) for line in lines],
    )


async def _listing(ctx: Ctx, room_id: int, listing_id: int) -> ListingOut:
    async with ctx.services.db.read() as s:
        room = await get_room(s, room_id)
        line = await actions.listing_line(s, room_id, listing_id, ctx.services.orders.stock)
    return listing_out(line, room)


@api.op(
    "GET",
    "/rooms/{room_id:int}/cart",
    summary="The room's cart as viewers see it",
    tags=TAGS,
    response=CartOut,
    auth="public",
)
async def get_cart(ctx: Ctx) -> CartOut:
    return await _cart(ctx, ctx.path["room_id"])


@api.op(
    "POST",
    "/rooms/{room_id:int}/listings",
    summary="Pin a product of the room's shop to the cart",
    tags=TAGS,
    body=ListingIn,
    response=ListingOut,
    status=201,
)
async def add_listing(ctx: Ctx) -> ListingOut:
    body: ListingIn = ctx.body
    room_id = ctx.path["room_id"]
    async with ctx.services.db.transaction() as s:
        listing = await actions.add_listing(
            s, ctx.user, room_id, body.product_id, body.live_price_minor, ctx.services.clock
        )
    return await _listing(ctx, room_id, listing.id)


@api.op(
    "POST",
    "/rooms/{room_id:int}/listings/{listing_id:int}/status",
    summary="Flip a listing: pending -> on_sale (grab now, with units left; add_stock adds units in the "
    "same move) -> sold_out, or off",
    tags=TAGS,
    body=ListingStatusIn,
    response=ListingOut,
)
async def set_listing_status(ctx: Ctx) -> ListingOut:
    body: ListingStatusIn = ctx.body
    room_id, listing_id = ctx.path["room_id"], ctx.path["listing_id"]
    await service.set_listing_status(
        ctx.services, ctx.user, room_id, listing_id, body.status, add_stock=body.add_stock
    )
    return await _listing(ctx, room_id, listing_id)


@api.op(
    "PUT",
    "/rooms/{room_id:int}/listings/{listing_id:int}/price",
    summary="Set or clear the live price",
    tags=TAGS,
    body=ListingPriceIn,
    response=ListingOut,
)
async def set_listing_price(ctx: Ctx) -> ListingOut:
    body: ListingPriceIn = ctx.body
    room_id, listing_id = ctx.path["room_id"], ctx.path["listing_id"]
    await service.set_live_price(ctx.services, ctx.user, room_id, listing_id, body.live_price_minor)
    return await _listing(ctx, room_id, listing_id)


@api.op(
    "DELETE",
    "/rooms/{room_id:int}/listings/{listing_id:int}",
    summary="Unpin a pending listing",
    tags=TAGS,
    status=204,
)
async def remove_listing(ctx: Ctx) -> None:
    async with ctx.services.db.transaction() as s:
        await actions.remove_listing(
            s, ctx.user, ctx.path["room_id"], ctx.path["listing_id"], ctx.services.clock
        )


@api.op(
    "PUT",
    "/rooms/{room_id:int}/cart/order",
    summary="Set the order of the cart",
    tags=TAGS,
    body=CartOrderIn,
    response=CartOut,
)
async def reorder_cart(ctx: Ctx) -> CartOut:
    body: CartOrderIn = ctx.body
    async with ctx.services.db.transaction() as s:
        await actions.reorder(s, ctx.user, ctx.path["room_id"], list(body.listing_ids), ctx.services.clock)
    return await _cart(ctx, ctx.path["room_id"])


@api.op(
    "PUT",
    "/rooms/{room_id:int}/explaining",
    summary='Mark a listing "explaining now" (null: none)',
    tags=TAGS,
    body=ExplainIn,
    response=CartOut,
)
async def explain(ctx: Ctx) -> CartOut:
    body: ExplainIn = ctx.body
    async with ctx.services.db.transaction() as s:
        await actions.explain(s, ctx.user, ctx.path["room_id"], body.listing_id, ctx.services.clock)
    return await _cart(ctx, ctx.path["room_id"])


@api.op(
    "GET",
    "/rooms/{room_id:int}/listings/{listing_id:int}/history",
    summary="Every status change of a listing (shop and staff)",
    tags=TAGS,
    response=TransitionList,
)
async def listing_history(ctx: Ctx) -> TransitionList:
    room_id, listing_id = ctx.path["room_id"], ctx.path["listing_id"]
    async with ctx.services.db.read() as s:
        room = await get_room(s, room_id)
        await require_room_reader(s, room, ctx.user)
        await actions.listing_line(s, room_id, listing_id, ctx.services.orders.stock)
        rows = await history(s, "listing", listing_id)
    return TransitionList(items=[TransitionOut.model_validate(r) for r in rows])
