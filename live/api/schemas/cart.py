"""The room cart: listings, their moves (grab now with the units added), price, order, explaining."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, RootModel

from commerce.orders.actions import MAX_UNITS
from live.api.schemas.catalog import SkuOut
from live.api.schemas.common import Id, In, Minor, Out
from live.cart.models import ListingStatus
from live.rooms.models import RoomState


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
    stock: int = Field(0, description="units allotted to the room (0 if none is allotted)")
    limit_per_user: int | None = Field(None, description="units one buyer may hold (null: no limit)")
    starts_at: datetime | None = Field(
        None, description="when the sale opens (null: at once); before then, show a countdown"
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
