"""Transition tables of payments and refunds."""

from commerce.core.transitions import StateMachine
from commerce.payments.models import PaymentStatus as P
from commerce.payments.models import RefundStatus as R

PAYMENT = StateMachine[P](
    "payment",
    {
        P.CREATED: frozenset({P.PAID, P.CLOSED}),
        P.PAID: frozenset({P.REFUNDED}),
    },
)

REFUND = StateMachine[R](
    "refund",
    {
        R.PENDING: frozenset({R.SUCCEEDED, R.FAILED}),
    },
)
