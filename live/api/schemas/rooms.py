"""Rooms: scheduling and editing, the room as read, subscriptions, following a streamer, the room report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from live.api.schemas.common import MAX_ID, Id, In, Out, PageQuery, Url, UserId, line, para
from live.api.schemas.media import StreamOut
from live.cart.models import ListingStatus
from live.rooms.models import RoomState


class RoomIn(In):
    """Either ``start_now: true`` (no ``scheduled_at``) or a ``scheduled_at`` (no ``start_now: true``).
    A time in the past or more than 90 days ahead conflicts with the server's clock: 409."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {"start_now": {"const": True}, "scheduled_at": {"type": "null"}},
                    "required": ["start_now"],
                },
                {
                    "properties": {
                        "start_now": {"const": False},
                        "scheduled_at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["scheduled_at"],
                },
            ]
        }
    )

    shop_id: Id
    title: Annotated[str, line(100)]
    cover_url: Url | None = Field(None, description="none: a snapshot of the stream's recording becomes it")
    description: Annotated[str, para(1000)] = ""
    start_now: bool = False
    scheduled_at: AwareDatetime | None = None
    streamer_id: UserId | None = Field(None, description="operators name the streamer; streamers omit it")


class RoomPatch(In):
    """Only the given fields change; null or absent leaves a field as it is."""

    title: Annotated[str, line(100)] | None = None
    cover_url: Url | Literal[""] | None = Field(None, description='"" removes the cover (it reads null)')
    description: Annotated[str, para(1000)] | None = None
    scheduled_at: AwareDatetime | None = None


class RoomOut(Out):
    id: int
    shop_id: int
    streamer_id: str
    title: str
    cover_url: str | None = Field(description="null: the room has no cover (yet)")
    description: str
    state: RoomState
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    explaining_listing_id: int | None
    subscriber_count: int = 0
    subscribed: bool = False
    allowed_transitions: list[RoomState] = Field(default_factory=list)
    figures: LiveFigures | None = Field(
        None, description="room lists: a live room's figures (online now, peak, likes) over every process"
    )
    stream: StreamOut | None = Field(None, description="where to pull the room's video, and its replays")


class LiveFigures(Out):
    online: int
    peak: int
    unique_viewers: int
    likes: int


class RoomPage(Out):
    items: list[RoomOut]
    total: int
    limit: int
    offset: int


class RoomsQuery(PageQuery):
    state: list[RoomState] | None = None
    shop_id: int | None = Field(None, ge=1, le=MAX_ID)


class SubscriptionOut(Out):
    room_id: int
    subscribed: bool
    subscriber_count: int


class FollowIn(In):
    room_id: Id | None = Field(None, description="the room the viewer follows from (counted in its report)")


class FollowOut(Out):
    streamer_id: str
    following: bool
    new: bool


class ReportListing(Out):
    listing_id: int
    product_id: int
    title: str
    status: ListingStatus
    live_price_minor: int | None
    currency: str
    times_on_sale: int
    orders: int = Field(description="paid orders (paid, shipped, delivered, completed)")
    orders_placed: int = Field(description="every order placed, paid or not")
    units: int
    gmv_minor: int = Field(description="value of the paid orders, in minor units of the listing's currency")
    buyers: int


class MinutePointOut(Out):
    minute: datetime
    viewers: int = Field(description="highest concurrent viewers sampled in the minute")
    orders: int = Field(description="paid orders placed in the minute")
    gmv_minor: int


class RoomReport(Out):
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
    audience: LiveFigures | None = Field(
        None, description="online now, peak concurrent viewers, unique viewers and likes, over every process"
    )
    danmaku: int
    new_followers: int = Field(description="viewers who followed the streamer from this room")
    watch_seconds: int = Field(description="total time watched over every viewer")
    average_watch_seconds: int = Field(0, description="watch time per unique viewer")
    orders: int
    orders_placed: int
    units: int
    gmv_minor: int
    currency: str | None
    buyers: int
    conversion: float = Field(0.0, description="buyers (with a paid order) / unique viewers")
    series: list[MinutePointOut]
