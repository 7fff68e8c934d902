"""The order transition table, and who may make each move."""

from __future__ import annotations

from enum import StrEnum

from commerce.core.errors import Forbidden
from commerce.core.transitions import StateMachine
from commerce.orders.models import OrderStatus as S


class Actor(StrEnum):
    BUYER = "buyer"
    SHOP = "shop"  # the shop's operators
    STAFF = "platform_staff"
    SYSTEM = "system"  # timers and payment notifications


ORDER = StateMachine[S](
    "order",
    {
        S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.CLOSED}),
        S.PAID: frozenset({S.SHIPPED, S.CLOSED}),
        S.SHIPPED: frozenset({S.DELIVERED, S.COMPLETED}),
        S.DELIVERED: frozenset({S.COMPLETED}),
    },
)

MOVERS: dict[tuple[S, S], frozenset[Actor]] = {
    (S.PENDING_PAYMENT, S.PAID): frozenset({Actor.SYSTEM}),
    (S.PENDING_PAYMENT, S.CANCELLED): frozenset({Actor.BUYER, Actor.STAFF}),
    (S.PENDING_PAYMENT, S.CLOSED): frozenset({Actor.SYSTEM}),
    (S.PAID, S.SHIPPED): frozenset({Actor.SHOP}),
    (S.PAID, S.CLOSED): frozenset({Actor.SYSTEM}),  # refunded in full
    (S.SHIPPED, S.DELIVERED): frozenset({Actor.SHOP, Actor.STAFF, Actor.SYSTEM}),
    (S.SHIPPED, S.COMPLETED): frozenset({Actor.BUYER, Actor.SYSTEM}),  # receipt confirmed, or time is up
    (S.DELIVERED, S.COMPLETED): frozenset({Actor.BUYER, Actor.SYSTEM}),
}
assert set(MOVERS) == {(a, b) for a, targets in ORDER.table.items() for b in targets}


def check_move(current: S, target: S, actor: Actor) -> None:
    """409 naming the allowed moves if the move is illegal; 403 if this actor may not make it."""
    ORDER.check(current, target)
    allowed = MOVERS[(current, target)]
    if actor not in allowed:
        raise Forbidden(
            f"a {actor} cannot move an order from {current} to {target}",
            details={"from": current, "to": target, "allowed_actors": sorted(allowed)},
        )
