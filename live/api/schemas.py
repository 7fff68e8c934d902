"""Request and response models of the HTTP API (they are also its OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, StringConstraints, WithJsonSchema

from commerce.catalog.models import ProductStatus
from commerce.core.money import CURRENCIES, MAX_MINOR
from commerce.orders.actions import MAX_UNITS
from commerce.orders.models import OrderStatus
from commerce.shops.models import LiveStatus
from live.cart.models import ListingStatus
from live.rooms.models import RoomState

MAX_ID = 2**63 - 1
# Patterns spell their character classes out (no \s): the server's regex engine and every JSON Schema
# validator then agree on exactly the same strings, so the document says what the server accepts.
_CONTROL = r"\x00-\x1f\x7f"
_SPACE = r"\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # other Unicode spaces
_VISIBLE = f"[^{_CONTROL}{_SPACE}]"
_LINE = f"^[^{_CONTROL}]*$"  # one line: no control characters
_TRIMMED = f"{_VISIBLE}([^{_CONTROL}]*{_VISIBLE})?"  # ... that neither starts nor ends with a space
_PARA = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # text: newlines and tabs allowed


def line(max_length: int, min_length: int = 1) -> StringConstraints:
    """One line of text: no control characters, no space at either end (refused, not trimmed)."""
    pattern = f"^{_TRIMMED}$" if min_length else f"^({_TRIMMED})?$"
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


def para(max_length: int) -> StringConstraints:
    """Free text: newlines and tabs allowed, other control characters refused."""
    return StringConstraints(max_length=max_length, pattern=_PARA)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR, description="amount in minor units (fen/cents)")]
# an http(s) address with a host name (no user info, no address literal) and an optional port that
# exists; the rest visible characters. The pattern is the whole rule: the document states it.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_URL = f"^https?://{_LABEL}(?:\\.{_LABEL})*(?::{_PORT})?(?:[/?#]{_VISIBLE}*)?$"
Url = Annotated[str, StringConstraints(max_length=500, pattern=_URL)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@\-]+$")]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]


class In(BaseModel):
    """Request bodies: unknown fields and type coercions are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


# --- identity ---------------------------------------------------------------------------------


class MyShop(Out):
    shop_id: int
    name: str
    role: str
    live_status: LiveStatus


class MeOut(Out):
    user_id: str
    name: str
    roles: list[str]
    shops: list[MyShop]


# --- shops ------------------------------------------------------------------------------------


class ConditionOut(Out):
    code: str
    text: str


class ConditionsOut(Out):
    version: str
    conditions: list[ConditionOut]
    form_fields: list[str]


class ShopApplication(In):
    name: Annotated[str, line(80, 2)]
    description: Annotated[str, para(2000)] = ""
    category: Annotated[str, line(64)]
    contact_name: Annotated[str, line(64)]
    contact_phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,19}$")]
    business_license_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{5,64}$")]
    accepted_conditions_version: Annotated[str, StringConstraints(max_length=16, pattern=_LINE)]


class ShopDecision(In):
    """Rejecting and revoking need a reason (the document says so: anyOf)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"decision": {"enum": ["approve", "restore"]}}},
                {
                    "properties": {"decision": {"enum": ["reject", "revoke"]}, "reason": {"type": "string"}},
                    "required": ["reason"],
                },
            ]
        }
    )

    decision: Literal["approve", "reject", "revoke", "restore"]
    reason: Annotated[str, line(500)] | None = None


class ShopOut(Out):
    id: int
    name: str
    description: str
    category: str
    owner_id: str
    live_status: LiveStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    contact_name: str | None = Field(None, description="members and staff only")
    contact_phone: str | None = Field(None, description="members and staff only")
    business_license_no: str | None = Field(None, description="members and staff only")
    allowed_decisions: list[str] = Field(default_factory=list, description="staff decisions open now")


class ShopPage(Out):
    items: list[ShopOut]
    total: int
    limit: int
    offset: int


class ShopsQuery(PageQuery):
    status: LiveStatus | None = None


class MemberIn(In):
    user_id: UserId
    role: Literal["operator", "streamer"]


class MemberOut(Out):
    shop_id: int
    user_id: str
    role: str
    added_by: str
    added_at: datetime


class MemberList(Out):
    items: list[MemberOut]


# --- catalog ----------------------------------------------------------------------------------

AttrKeyPattern = _LINE
AttrKey = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=AttrKeyPattern)]
AttrValue = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_LINE)]


def _attribute_map(schema: dict[str, Any]) -> None:
    """pydantic writes a key pattern as patternProperties, which lets other keys through; say it as it is:
    every key matches the key schema, every value the value schema."""
    value_schema = next(iter(schema.pop("patternProperties").values()))
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": AttrKeyPattern}
    schema["additionalProperties"] = value_schema


class SkuIn(In):
    attributes: dict[AttrKey, AttrValue] = Field(
        default_factory=dict,
        max_length=5,
        description='e.g. {"colour": "red", "size": "M"}',
        json_schema_extra=_attribute_map,
    )
    price_minor: Minor
    stock: int = Field(ge=0, le=1_000_000_000)
    code: Annotated[str, StringConstraints(max_length=64, pattern=_LINE)] = ""


class ProductIn(In):
    title: Annotated[str, line(120)]
    category: Annotated[str, line(64)]
    currency: Currency = "CNY"
    description: Annotated[str, para(5000)] = ""
    images: list[Url] = Field(default_factory=list, max_length=9)
    skus: list[SkuIn] = Field(min_length=1, max_length=100)


class ProductPatch(In):
    title: Annotated[str, line(120)] | None = None
    category: Annotated[str, line(64)] | None = None
    description: Annotated[str, para(5000)] | None = None
    images: list[Url] | None = Field(None, max_length=9)


class ProductStatusIn(In):
    status: ProductStatus


class SkuPatch(In):
    price_minor: Minor | None = None
    stock: int | None = Field(None, ge=0, le=1_000_000_000)
    code: Annotated[str, StringConstraints(max_length=64, pattern=_LINE)] | None = None


class SkuOut(Out):
    id: int
    product_id: int
    code: str
    attributes: dict[str, str]
    price_minor: int
    stock: int


class ProductOut(Out):
    id: int
    shop_id: int
    title: str
    category: str
    description: str
    images: list[str]
    currency: str
    status: ProductStatus
    skus: list[SkuOut]
    created_at: datetime
    updated_at: datetime


class ProductPage(Out):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class ProductsQuery(PageQuery):
    include_archived: bool = False


# --- rooms ------------------------------------------------------------------------------------


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


class ReasonIn(In):
    reason: Annotated[str, line(500)]


class OptionalReasonIn(In):
    reason: Annotated[str, line(500)] | None = None


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
    figures: LiveFigures | None = Field(None, description="staff room list: live figures over every process")
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


# --- cart -------------------------------------------------------------------------------------


class ListingIn(In):
    product_id: Id
    live_price_minor: Minor | None = None


class ListingOnSaleIn(In):
    """Grab now: needs the room live and units left to sell in the room."""

    status: Literal["on_sale"]
    add_stock: (
        Annotated[
            int,
            Field(
                ge=1,
                le=MAX_UNITS,
                description="units added to the room's allotment in the same move (the allotment is "
                "created if the listing has none), e.g. to put a sold-out listing back on sale",
            ),
        ]
        | None
    ) = None


class ListingMoveIn(In):
    status: Literal["pending", "sold_out", "off"]


class ListingStatusIn(RootModel[Annotated[ListingOnSaleIn | ListingMoveIn, Field(discriminator="status")]]):
    """A listing's move; only the move to on_sale may carry add_stock."""

    @property
    def status(self) -> ListingStatus:
        return ListingStatus(self.root.status)

    @property
    def add_stock(self) -> int | None:
        return self.root.add_stock if isinstance(self.root, ListingOnSaleIn) else None


class ListingPriceIn(In):
    live_price_minor: Minor | None


class CartOrderIn(In):
    listing_ids: list[Id] = Field(max_length=200)


class ExplainIn(In):
    listing_id: Id | None


class ProductSummary(Out):
    id: int
    title: str
    image: str | None
    category: str
    price_min_minor: int
    price_max_minor: int
    stock: int


class ListingOut(Out):
    id: int
    room_id: int
    product_id: int
    position: int
    status: ListingStatus
    live_price_minor: int | None
    currency: str
    explaining: bool
    units_left: int = Field(
        description="units the room still has to sell (its allotment less what is sold; 0 if none is "
        "allotted), read when the cart or snapshot was read"
    )
    product: ProductSummary
    skus: list[SkuOut]
    allowed_statuses: list[ListingStatus] = Field(
        description="the moves the listing's table allows from its status (none once the room has ended)"
    )


class CartOut(Out):
    room_id: int
    room_state: RoomState
    explaining_listing_id: int | None
    listings: list[ListingOut]


# --- history, audit, reports ------------------------------------------------------------------


class TransitionOut(Out):
    entity: str
    entity_id: int
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    reason: str | None
    at: datetime


class TransitionList(Out):
    items: list[TransitionOut]


class AuditOut(Out):
    id: int
    actor_id: str
    actor_role: str
    action: str
    target_type: str
    target_id: int
    reason: str | None
    details: dict[str, Any]
    at: datetime


class AuditPage(Out):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class AuditQuery(PageQuery):
    action: Annotated[str, StringConstraints(max_length=64, pattern=_LINE)] | None = None
    target_type: Literal["shop", "room", "listing", "product"] | None = None
    target_id: int | None = Field(None, ge=1, le=MAX_ID)
    actor_id: UserId | None = None


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


# --- operations -------------------------------------------------------------------------------


class HealthOut(Out):
    status: Literal["ok"]


class ReadyCheck(Out):
    name: str
    ok: bool
    error: str | None = None
    latency_ms: float


class ReadyOut(Out):
    status: Literal["ready", "not_ready"]
    checks: list[ReadyCheck]


# --- moderation -------------------------------------------------------------------------------


class WordIn(In):
    word: Annotated[str, line(64)]
    action: Literal["mask", "block"]


class WordOut(Out):
    id: int
    word: str
    action: str
    created_by: str
    created_at: datetime


class WordList(Out):
    items: list[WordOut]


class ReviewOut(Out):
    id: int
    chat_id: str
    room_id: int
    user_id: str
    original: str
    shown: str
    words: str
    status: str
    reviewed_by: str | None
    created_at: datetime
    reviewed_at: datetime | None


class ReviewPage(Out):
    items: list[ReviewOut]
    total: int
    limit: int
    offset: int


class ReviewsQuery(PageQuery):
    status: Literal["pending", "approved", "removed"] | None = "pending"
    room_id: int | None = Field(None, ge=1, le=MAX_ID)


class ReviewDecisionIn(In):
    decision: Literal["approve", "remove"]


class MuteIn(In):
    user_id: UserId
    reason: Annotated[str, line(500)] | None = None


class MuteOut(Out):
    room_id: int
    user_id: str
    muted_by: str
    reason: str | None
    created_at: datetime


class MuteList(Out):
    items: list[MuteOut]


class RoomAdminIn(In):
    user_id: UserId


class RoomAdminOut(Out):
    room_id: int
    user_id: str
    named_by: str
    created_at: datetime


class RoomAdminList(Out):
    items: list[RoomAdminOut]


# --- stock and orders ----------------------------------------------------------------------------


class StockIn(In):
    stock: Annotated[int, Field(ge=0, le=MAX_UNITS, description="units allotted to this room")]
    limit_per_user: Annotated[int, Field(ge=1, le=10_000)] | None = None
    starts_at: AwareDatetime | None = Field(None, description="sale start (a countdown until then)")


class StockOut(Out):
    listing_id: int
    stock: int
    sold: int
    units_left: int = Field(description="units the room still has to sell")
    limit_per_user: int | None
    starts_at: datetime | None
    on_sale: bool


class AddressIn(In):
    name: Annotated[str, line(50)]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,19}$")]
    line1: Annotated[str, line(200)]
    line2: Annotated[str, line(200, 0)] = ""
    city: Annotated[str, line(64)]
    region: Annotated[str, line(64, 0)] = ""
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 \-]{0,12}$")] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderIn(In):
    sku_id: Id
    quantity: Annotated[int, Field(ge=1, le=999)] = 1
    address: AddressIn


class OrderOut(Out):
    id: int
    status: str
    buyer_id: str
    shop_id: int
    room_id: int | None
    streamer_id: str | None
    listing_id: int = Field(validation_alias="sale_id")
    product_id: int
    sku_id: int
    title: str
    sku_attributes: dict[str, Any]
    quantity: int
    unit_price_minor: int
    total_minor: int
    currency: str
    address: dict[str, Any]
    carrier: str | None
    tracking_no: str | None
    pay_by: datetime
    complete_by: datetime | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    finished_at: datetime | None
    allowed_statuses: list[str] = []


class OrderPage(Out):
    items: list[OrderOut]
    total: int
    offset: int
    limit: int


class OrdersQuery(Query):
    status: list[OrderStatus] | None = None
    room_id: Id | None = None
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class ShipIn(In):
    carrier: Annotated[str, line(64)]
    tracking_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{4,64}$")]


class BulkShipItem(ShipIn):
    order_id: Id


class BulkShipIn(In):
    items: list[BulkShipItem] = Field(min_length=1, max_length=200)


class BulkShipResult(Out):
    order_id: int
    ok: bool
    status: str | None = None
    error: dict[str, Any] | None = None


class BulkShipOut(Out):
    results: list[BulkShipResult]


# --- streams -----------------------------------------------------------------------------------


class ReplayOut(Out):
    hls: str
    cover: str | None
    duration_s: float | None
    created_at: datetime


class StreamOut(Out):
    provider: str
    state: str = Field(description="idle, publishing, interrupted or ended")
    pull: dict[str, str] = Field(description="pull URLs by protocol: rtmp, flv, hls, webrtc (WHEP)")
    replays: list[ReplayOut] = Field(default_factory=list)
    play_token: str | None = Field(None, description="bearer token for the WHEP endpoint, where there is one")


class PushCredentialsOut(Out):
    protocol: str = Field(description="rtmp or whip")
    url: str = Field(description="the whole push URL (server and stream key joined)")
    server: str = Field(description="for encoders that ask for a server and a stream key apart")
    stream_key: str
    bearer_token: str | None = Field(None, description="WHIP: send as 'Authorization: Bearer <token>'")
    expires_at: datetime
    stream: StreamOut


class StreamEventOut(Out):
    id: int
    kind: str
    name: str
    event_id: str | None
    outcome: str
    at: datetime
    payload: dict[str, Any]


class StreamEventPage(Out):
    items: list[StreamEventOut]
    next_before: int | None = Field(None, description="pass as `before` for the next (older) page")


class StreamEventsQuery(Query):
    limit: int = Field(100, ge=1, le=500)
    before: int | None = Field(None, ge=1, le=MAX_ID)


class CallbackAnswer(Out):
    outcome: str
