"""The room report: schedule, duration, subscribers and what happened to each listing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.db import Clock
from commerce.core.identity import Principal
from commerce.core.transitions import TransitionRecord
from commerce.orders.models import Order, OrderStatus
from live.broker import RoomFigures
from live.cart.actions import pinned
from live.cart.models import ListingStatus
from live.rooms.actions import get_room, require_room_reader, subscriber_counts
from live.rooms.models import RoomMinute, RoomState, StreamerFollow
from live.rooms.transitions import FINAL

PAID = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)


@dataclass(frozen=True)
class ReportListing:
    listing_id: int
    product_id: int
    title: str
    status: ListingStatus
    live_price_minor: int | None
    currency: str
    times_on_sale: int
    orders: int = 0  # paid orders (paid, shipped, delivered, completed)
    units: int = 0
    gmv_minor: int = 0
    buyers: int = 0
    orders_placed: int = 0  # every order, paid or not


@dataclass(frozen=True)
class MinutePoint:
    minute: datetime
    viewers: int
    orders: int
    gmv_minor: int


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
    danmaku: int = 0
    new_followers: int = 0
    watch_seconds: int = 0
    sessions: int = 0
    orders: int = 0
    orders_placed: int = 0
    units: int = 0
    gmv_minor: int = 0
    currency: str | None = None
    buyers: int = 0
    series: list[MinutePoint] = field(default_factory=list)
    audience: RoomFigures | None = None  # over every process, never below ``kept_figures``
    average_watch_seconds: int = 0  # watch time per unique viewer
    conversion: float = 0.0  # buyers (with a paid order) / unique viewers


def with_audience(report: RoomReport, live: RoomFigures) -> RoomReport:
    """The report with its audience: the live figures over every process, but never below what the hub
    last kept in the room row (the broker's figures may be gone: Redis flushed)."""
    peak, unique, likes = report.kept_figures
    audience = RoomFigures(
        online=live.online,
        peak=max(live.peak, peak),
        unique_viewers=max(live.unique_viewers, unique),
        likes=max(live.likes, likes),
    )
    viewers = audience.unique_viewers
    if not viewers:
        return replace(report, audience=audience)
    return replace(
        report,
        audience=audience,
        average_watch_seconds=report.watch_seconds // viewers,
        conversion=round(report.buyers / viewers, 4),
    )


async def build(session: AsyncSession, actor: Principal, room_id: int, clock: Clock) -> RoomReport:
    room = await get_room(session, room_id)
    await require_room_reader(session, room, actor)
    lines = await pinned(session, room_id)
    ids = [listing.id for listing, _ in lines]
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
    report = RoomReport(
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
                listing_id=listing.id,
                product_id=product.id,
                title=product.title,
                status=listing.status,
                live_price_minor=listing.live_price_minor,
                currency=listing.currency,
                times_on_sale=on_sale.get(listing.id, 0),
            )
            for listing, product in lines
        ],
        kept_figures=(room.peak_viewers, room.unique_viewers, room.likes),
        danmaku=room.danmaku,
        watch_seconds=room.watch_seconds,
        sessions=room.sessions,
    )
    return await _sales(session, report)


async def _sales(session: AsyncSession, report: RoomReport) -> RoomReport:
    """Orders, units, GMV and buyers per listing and in total; followers; the per-minute series."""
    rows = list(
        await session.execute(
            select(
                Order.sale_id,
                Order.buyer_id,
                Order.quantity,
                Order.total_minor,
                Order.status,
                Order.created_at,
            ).where(Order.room_id == report.room_id)
        )
    )
    per: dict[int, dict[str, Any]] = {}
    buyers: set[str] = set()
    buckets: dict[datetime, list[int]] = {}
    for sale_id, buyer, qty, total, status, created in rows:
        p = per.setdefault(
            sale_id, {"orders": 0, "units": 0, "gmv_minor": 0, "buyers": set(), "orders_placed": 0}
        )
        p["orders_placed"] += 1
        if status in PAID:
            p["orders"] += 1
            p["units"] += qty
            p["gmv_minor"] += total
            p["buyers"].add(buyer)
            buyers.add(buyer)
            b = buckets.setdefault(created.replace(second=0, microsecond=0), [0, 0])
            b[0] += 1
            b[1] += total
    listings = [
        replace(
            line,
            orders=per.get(line.listing_id, {}).get("orders", 0),
            units=per.get(line.listing_id, {}).get("units", 0),
            gmv_minor=per.get(line.listing_id, {}).get("gmv_minor", 0),
            buyers=len(per.get(line.listing_id, {}).get("buyers", ())),
            orders_placed=per.get(line.listing_id, {}).get("orders_placed", 0),
        )
        for line in report.listings
    ]
    viewers = {
        m.minute.replace(second=0, microsecond=0): m.viewers
        for m in await session.scalars(select(RoomMinute).where(RoomMinute.room_id == report.room_id))
    }
    series = [
        MinutePoint(minute, viewers.get(minute, 0), *buckets.get(minute, [0, 0]))
        for minute in sorted(set(viewers) | set(buckets))
    ]
    followers = int(
        await session.scalar(
            select(func.count()).select_from(StreamerFollow).where(StreamerFollow.room_id == report.room_id)
        )
        or 0
    )
    currencies = {line.currency for line in report.listings}
    return replace(
        report,
        listings=listings,
        new_followers=followers,
        orders=sum(p["orders"] for p in per.values()),
        orders_placed=len(rows),
        units=sum(p["units"] for p in per.values()),
        gmv_minor=sum(p["gmv_minor"] for p in per.values()),
        currency=next(iter(currencies)) if len(currencies) == 1 else None,
        buyers=len(buyers),
        series=series,
    )
