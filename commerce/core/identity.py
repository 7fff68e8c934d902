"""Who is calling: a principal with a user id and roles, as proven by a verified token."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from commerce.core.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    VIEWER = "viewer"
    STREAMER = "streamer"
    SHOP_OPERATOR = "shop_operator"
    PLATFORM_STAFF = "platform_staff"
    FINANCE = "finance"


@dataclass(frozen=True)
class Principal:
    """An authenticated user. ``user_id`` is the token subject."""

    user_id: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    name: str = ""

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, *roles: Role) -> None:
        """Raise Forbidden unless the principal holds at least one of ``roles``."""
        if not any(r in self.roles for r in roles):
            raise Forbidden(
                "requires role " + " or ".join(r.value for r in roles),
                details={"required_roles": [r.value for r in roles]},
            )

    @property
    def is_staff(self) -> bool:
        return Role.PLATFORM_STAFF in self.roles


def require_principal(principal: Principal | None) -> Principal:
    """Return the principal or raise Unauthenticated for a guest."""
    if principal is None:
        raise Unauthenticated("a bearer token is required")
    return principal
