"""Business actions on shops. Each runs inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.audit import record_audit
from commerce.core.db import Clock
from commerce.core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from commerce.core.identity import Principal, Role
from commerce.core.transitions import record_transition
from commerce.shops.conditions import CONDITIONS_VERSION
from commerce.shops.models import LiveStatus, MemberRole, Shop, ShopMember
from commerce.shops.transitions import QUALIFICATION


@dataclass(frozen=True)
class ShopDetails:
    name: str
    description: str
    category: str
    contact_name: str
    contact_phone: str
    business_license_no: str
    accepted_conditions_version: str


async def get_shop(session: AsyncSession, shop_id: int, *, for_update: bool = False) -> Shop:
    stmt = select(Shop).where(Shop.id == shop_id)
    if for_update:
        stmt = stmt.with_for_update()
    shop = await session.scalar(stmt)
    if shop is None:
        raise NotFound("shop", shop_id)
    return shop


async def membership(session: AsyncSession, shop_id: int, user_id: str) -> ShopMember | None:
    return await session.scalar(
        select(ShopMember).where(ShopMember.shop_id == shop_id, ShopMember.user_id == user_id)
    )


async def require_member(
    session: AsyncSession, shop_id: int, actor: Principal, *roles: MemberRole
) -> ShopMember:
    """Raise Forbidden unless ``actor`` is a member of the shop with one of ``roles`` (any role if none)."""
    member = await membership(session, shop_id, actor.user_id)
    if member is None or (roles and member.role not in roles):
        raise Forbidden(
            f"not a {' or '.join(r.value for r in roles) or 'member'} of shop {shop_id}",
            details={"shop_id": shop_id},
        )
    return member


async def require_operator(session: AsyncSession, shop_id: int, actor: Principal) -> ShopMember:
    actor.require(Role.SHOP_OPERATOR)
    return await require_member(session, shop_id, actor, MemberRole.OPERATOR)


def _check_conditions(details: ShopDetails) -> None:
    """Accepting other conditions than the current ones (stale or unknown) conflicts with the platform's
    state: 409 naming the current version, to read (GET /shops/live-conditions) and accept."""
    if details.accepted_conditions_version != CONDITIONS_VERSION:
        raise Conflict(
            "the live-selling conditions must be accepted in their current version",
            details={"field": "accepted_conditions_version", "current": CONDITIONS_VERSION},
        )


async def _name_taken(session: AsyncSession, name: str, exclude: int | None = None) -> bool:
    stmt = select(func.count()).select_from(Shop).where(func.lower(Shop.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Shop.id != exclude)
    return bool(await session.scalar(stmt))


async def apply_for_live(session: AsyncSession, actor: Principal, details: ShopDetails, clock: Clock) -> Shop:
    """A shop operator registers a shop and applies for live selling in one step."""
    actor.require(Role.SHOP_OPERATOR)
    _check_conditions(details)
    if await _name_taken(session, details.name):
        raise Conflict(f"a shop named {details.name!r} exists", details={"field": "name"})
    now = clock()
    shop = Shop(
        name=details.name,
        description=details.description,
        category=details.category,
        owner_id=actor.user_id,
        contact_name=details.contact_name,
        contact_phone=details.contact_phone,
        business_license_no=details.business_license_no,
        conditions_version=details.accepted_conditions_version,
        live_status=LiveStatus.APPLIED,
        status_reason=None,
        created_at=now,
        updated_at=now,
    )
    session.add(shop)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent application took the name
        raise Conflict(f"a shop named {details.name!r} exists", details={"field": "name"}) from exc
    session.add(
        ShopMember(
            shop_id=shop.id,
            user_id=actor.user_id,
            role=MemberRole.OPERATOR,
            added_by=actor.user_id,
            added_at=now,
        )
    )
    await record_transition(
        session,
        entity="shop",
        entity_id=shop.id,
        from_state=None,
        to_state=LiveStatus.APPLIED,
        actor_id=actor.user_id,
        actor_role=Role.SHOP_OPERATOR,
        at=now,
    )
    return shop


async def resubmit(
    session: AsyncSession, actor: Principal, shop_id: int, details: ShopDetails, clock: Clock
) -> Shop:
    """After a rejection, the operator corrects the details and applies again."""
    await require_operator(session, shop_id, actor)
    shop = await get_shop(session, shop_id, for_update=True)
    QUALIFICATION.check(shop.live_status, LiveStatus.APPLIED)
    _check_conditions(details)
    if await _name_taken(session, details.name, exclude=shop.id):
        raise Conflict(f"a shop named {details.name!r} exists", details={"field": "name"})
    now = clock()
    for field in ("name", "description", "category", "contact_name", "contact_phone", "business_license_no"):
        setattr(shop, field, getattr(details, field))
    shop.conditions_version = details.accepted_conditions_version
    await _move(session, shop, LiveStatus.APPLIED, actor, Role.SHOP_OPERATOR, None, now)
    return shop


async def _move(
    session: AsyncSession,
    shop: Shop,
    target: LiveStatus,
    actor: Principal,
    role: Role,
    reason: str | None,
    now: datetime,
) -> None:
    previous = shop.live_status
    QUALIFICATION.check(previous, target)
    shop.live_status = target
    shop.status_reason = reason
    shop.updated_at = now
    await record_transition(
        session,
        entity="shop",
        entity_id=shop.id,
        from_state=previous,
        to_state=target,
        actor_id=actor.user_id,
        actor_role=role,
        at=now,
        reason=reason,
    )


# decision: (the status it applies to, the status it leads to, reason required)
_DECISIONS: dict[str, tuple[LiveStatus, LiveStatus, bool]] = {
    "approve": (LiveStatus.APPLIED, LiveStatus.APPROVED, False),
    "reject": (LiveStatus.APPLIED, LiveStatus.REJECTED, True),
    "revoke": (LiveStatus.APPROVED, LiveStatus.REVOKED, True),
    "restore": (LiveStatus.REVOKED, LiveStatus.APPROVED, False),
}

DECISIONS = tuple(_DECISIONS)


def allowed_decisions(status: LiveStatus) -> list[str]:
    return [d for d, (src, _, _) in _DECISIONS.items() if src == status]


async def decide(
    session: AsyncSession, actor: Principal, shop_id: int, decision: str, reason: str | None, clock: Clock
) -> Shop:
    """Platform staff approve, reject, revoke or restore a shop's live qualification."""
    actor.require(Role.PLATFORM_STAFF)
    if decision not in _DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}", details={"allowed": list(_DECISIONS)})
    source, target, needs_reason = _DECISIONS[decision]
    if needs_reason and not (reason and reason.strip()):
        raise InvalidInput(f"a reason is required to {decision}", details={"field": "reason"})
    shop = await get_shop(session, shop_id, for_update=True)
    previous = shop.live_status
    if previous != source:
        err = InvalidTransition(
            "shop", previous, target, [_DECISIONS[d][1] for d in allowed_decisions(previous)]
        )
        err.details["allowed_decisions"] = allowed_decisions(previous)
        raise err
    now = clock()
    await _move(session, shop, target, actor, Role.PLATFORM_STAFF, reason, now)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.PLATFORM_STAFF,
        action=f"shop.{decision}",
        target_type="shop",
        target_id=shop.id,
        at=now,
        reason=reason,
        details={"from": previous, "to": target},
    )
    return shop


async def list_shops(
    session: AsyncSession, actor: Principal, *, status: LiveStatus | None, limit: int, offset: int
) -> tuple[list[Shop], int]:
    """Staff list shops (applications first by age) filtered by qualification status."""
    actor.require(Role.PLATFORM_STAFF)
    stmt = select(Shop)
    count = select(func.count()).select_from(Shop)
    if status is not None:
        stmt = stmt.where(Shop.live_status == status)
        count = count.where(Shop.live_status == status)
    rows = await session.scalars(stmt.order_by(Shop.updated_at, Shop.id).limit(limit).offset(offset))
    return list(rows), int(await session.scalar(count) or 0)


async def my_shops(session: AsyncSession, actor: Principal) -> list[tuple[Shop, ShopMember]]:
    rows = await session.execute(
        select(Shop, ShopMember)
        .join(ShopMember, ShopMember.shop_id == Shop.id)
        .where(ShopMember.user_id == actor.user_id)
        .order_by(Shop.id)
    )
    return [(s, m) for s, m in rows]


async def can_see_private(session: AsyncSession, actor: Principal | None, shop_id: int) -> bool:
    if actor is None:
        return False
    if actor.is_staff:
        return True
    return await membership(session, shop_id, actor.user_id) is not None


async def add_member(
    session: AsyncSession, actor: Principal, shop_id: int, user_id: str, role: MemberRole, clock: Clock
) -> ShopMember:
    await require_operator(session, shop_id, actor)
    await get_shop(session, shop_id)
    if await membership(session, shop_id, user_id) is not None:
        raise Conflict(f"user {user_id} is already a member of shop {shop_id}", details={"user_id": user_id})
    now = clock()
    member = ShopMember(shop_id=shop_id, user_id=user_id, role=role, added_by=actor.user_id, added_at=now)
    session.add(member)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {user_id} is already a member of shop {shop_id}") from exc
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.SHOP_OPERATOR,
        action="shop.member_added",
        target_type="shop",
        target_id=shop_id,
        at=now,
        details={"user_id": user_id, "role": role},
    )
    return member


async def remove_member(
    session: AsyncSession, actor: Principal, shop_id: int, user_id: str, clock: Clock
) -> None:
    await require_operator(session, shop_id, actor)
    shop = await get_shop(session, shop_id)
    if user_id == shop.owner_id:
        raise Conflict("the shop's owner cannot be removed", details={"user_id": user_id})
    member = await membership(session, shop_id, user_id)
    if member is None:
        raise NotFound("shop member", user_id)
    await session.delete(member)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.SHOP_OPERATOR,
        action="shop.member_removed",
        target_type="shop",
        target_id=shop_id,
        at=clock(),
        details={"user_id": user_id},
    )


async def list_members(session: AsyncSession, actor: Principal, shop_id: int) -> list[ShopMember]:
    await get_shop(session, shop_id)
    if not actor.is_staff:
        await require_member(session, shop_id, actor)
    rows = await session.scalars(
        select(ShopMember).where(ShopMember.shop_id == shop_id).order_by(ShopMember.id)
    )
    return list(rows)
