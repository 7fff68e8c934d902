"""The room report: schedule, duration, subscribers and what happened to each listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.db import Clock
from commerce.core.identity import Principal
from commerce.core.transitions import TransitionRecord
from live.cart.actions import cart
from live.cart.models import ListingStatus
from live.rooms.actions import get_room, require_room_reader, subscriber_counts
from live.rooms.models import RoomState
from live.rooms.transitions import FINAL


@dataclass(frozen=True)
class ReportListing:
    listing_id: int
    product_id: int
    title: str
    status: ListingStatus
    live_price_minor: int | None
    currency: str
    times_on_sale: int


@dataclass(frozen=True)
class RoomReport:
    room_id: int
    shop_id: int
    streamer_id: str
    title: str
    state: RoomState
    final: bool
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    end_reason: str | None
    subscriber_count: int
    listings: list[ReportListing]
    kept_figures: tuple[int, int, int]  # (peak, unique viewers, likes) as last written by the hub


async def build(session: AsyncSession, actor: Principal, room_id: int, clock: Clock) -> RoomReport:
    room = await get_room(session, room_id)
    await require_room_reader(session, room, actor)
    lines = await cart(session, room_id)
    ids = [line.listing.id for line in lines]
    on_sale: dict[int, int] = {}
    if ids:
        rows = await session.execute(
            select(TransitionRecord.entity_id, func.count())
            .where(
                TransitionRecord.entity == "listing",
                TransitionRecord.entity_id.in_(ids),
                TransitionRecord.to_state == ListingStatus.ON_SALE,
            )
            .group_by(TransitionRecord.entity_id)
        )
        on_sale = {lid: int(n) for lid, n in rows}
    duration = None
    if room.started_at is not None:
        end = room.ended_at or clock()
        duration = int((end - room.started_at).total_seconds())
    counts = await subscriber_counts(session, [room.id])
    return RoomReport(
        room_id=room.id,
        shop_id=room.shop_id,
        streamer_id=room.streamer_id,
        title=room.title,
        state=room.state,
        final=room.state in FINAL,
        scheduled_at=room.scheduled_at,
        started_at=room.started_at,
        ended_at=room.ended_at,
        duration_seconds=duration,
        end_reason=room.end_reason,
        subscriber_count=counts[room.id],
        listings=[
            ReportListing(
                listing_id=line.listing.id,
                product_id=line.product.id,
                title=line.product.title,
                status=line.listing.status,
                live_price_minor=line.listing.live_price_minor,
                currency=line.listing.currency,
                times_on_sale=on_sale.get(line.listing.id, 0),
            )
            for line in lines
        ],
        kept_figures=(room.peak_viewers, room.unique_viewers, room.likes),
    )
