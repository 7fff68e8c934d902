"""Listing status transition table (the streamer's flips; sold_out also comes from stock in ordering)."""

from commerce.core.transitions import StateMachine
from live.cart.models import ListingStatus as S

LISTING = StateMachine[S](
    "listing",
    {
        S.PENDING: frozenset({S.ON_SALE, S.OFF}),
        S.ON_SALE: frozenset({S.SOLD_OUT, S.OFF}),
        S.SOLD_OUT: frozenset({S.ON_SALE, S.OFF}),
        S.OFF: frozenset({S.PENDING, S.ON_SALE}),
    },
)
