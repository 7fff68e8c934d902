"""Live qualification transition table."""

from commerce.core.transitions import StateMachine
from commerce.shops.models import LiveStatus as S

QUALIFICATION = StateMachine[S](
    "shop",
    {
        S.APPLIED: frozenset({S.APPROVED, S.REJECTED}),
        S.REJECTED: frozenset({S.APPLIED}),
        S.APPROVED: frozenset({S.REVOKED}),
        S.REVOKED: frozenset({S.APPROVED}),
    },
)
