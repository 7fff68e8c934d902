"""Room actions. Each runs inside the caller's transaction and records its events in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.audit import record_audit
from commerce.core.db import Clock
from commerce.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from commerce.core.identity import Principal, Role
from commerce.core.outbox import record_event
from commerce.core.transitions import record_transition
from commerce.orders.models import Allotment
from commerce.shops.actions import get_shop, membership
from commerce.shops.models import MemberRole, ShopMember
from live.cart.models import Listing, ListingStatus
from live.cart.transitions import LISTING
from live.rooms.models import Room, RoomMinute, RoomState, RoomSubscription, StreamerFollow
from live.rooms.transitions import FINAL, ROOM

MAX_SCHEDULE_AHEAD = timedelta(days=90)


def room_stream(room_id: int) -> str:
    return f"room:{room_id}"


@dataclass(frozen=True)
class RoomInput:
    shop_id: int
    title: str
    cover_url: str | None
    description: str = ""
    start_now: bool = False
    scheduled_at: datetime | None = None
    streamer_id: str | None = None


async def get_room(session: AsyncSession, room_id: int, *, for_update: bool = False) -> Room:
    stmt = select(Room).where(Room.id == room_id)
    if for_update:
        stmt = stmt.with_for_update()
    room = await session.scalar(stmt)
    if room is None:
        raise NotFound("room", room_id)
    return room


async def shop_role(session: AsyncSession, shop_id: int, actor: Principal) -> ShopMember:
    """The actor's membership of the shop, if they act for it in a role their token also carries."""
    member = await membership(session, shop_id, actor.user_id)
    token_role = {MemberRole.OPERATOR: Role.SHOP_OPERATOR, MemberRole.STREAMER: Role.STREAMER}
    if member is None or not actor.has(token_role[member.role]):
        raise Forbidden(f"not a streamer or operator of shop {shop_id}", details={"shop_id": shop_id})
    return member


async def require_room_manager(session: AsyncSession, room: Room, actor: Principal) -> ShopMember:
    """Streamers and operators of the room's shop manage it; anyone else is refused."""
    return await shop_role(session, room.shop_id, actor)


def room_event(session: AsyncSession, room: Room, kind: str, payload: dict[str, Any], at: datetime) -> None:
    """Record a state event of the room with the room's next sequence number (the room row is locked)."""
    room.event_seq = (room.event_seq or 0) + 1
    record_event(
        session,
        stream=room_stream(room.id),
        kind=kind,
        payload={"room_id": room.id, **payload},
        at=at,
        seq=room.event_seq,
    )


async def _transition(
    session: AsyncSession,
    room: Room,
    target: RoomState,
    actor: Principal,
    role: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    previous = room.state
    ROOM.check(previous, target)
    if target in FINAL:
        await _close_listings(session, room, target, actor, role, now)
    room.state = target
    room.updated_at = now
    if target == RoomState.LIVE:
        room.started_at = now
    if target in FINAL:
        room.ended_at = now
        room.end_reason = reason
        room.explaining_listing_id = None
        # nothing more is sold in an ended room (the stock ledgers learn it after the commit)
        await session.execute(
            update(Allotment)
            .where(Allotment.sale_id.in_(select(Listing.id).where(Listing.room_id == room.id)))
            .values(open=False, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    await record_transition(
        session,
        entity="room",
        entity_id=room.id,
        from_state=previous,
        to_state=target,
        actor_id=actor.user_id,
        actor_role=role,
        at=now,
        reason=reason,
    )
    room_event(session, room, "room.state", {"from": previous, "state": target, "reason": reason}, now)


CLOSING = (ListingStatus.PENDING, ListingStatus.ON_SALE)  # what a room's end switches off


async def _close_listings(
    session: AsyncSession, room: Room, ending: RoomState, actor: Principal, role: str, now: datetime
) -> None:
    """A room that ends switches off its listings on sale or pending (sold out ones stay sold out), each
    move recorded and told to the room before the room's own end, so a viewer reads every final status."""
    listings = list(
        await session.scalars(
            select(Listing)
            .where(Listing.room_id == room.id, Listing.status.in_(CLOSING))
            .order_by(Listing.position, Listing.id)
            .with_for_update()
        )
    )
    reason = f"room {ending}"
    for listing in listings:
        previous = listing.status
        LISTING.check(previous, ListingStatus.OFF)
        listing.status, listing.updated_at = ListingStatus.OFF, now
        await record_transition(
            session,
            entity="listing",
            entity_id=listing.id,
            from_state=previous,
            to_state=ListingStatus.OFF,
            actor_id=actor.user_id,
            actor_role=role,
            at=now,
            reason=reason,
        )
        room_event(
            session,
            room,
            "listing.status",
            {"listing_id": listing.id, "from": previous, "status": ListingStatus.OFF, "reason": reason},
            now,
        )


async def _ensure_not_live_elsewhere(session: AsyncSession, streamer_id: str, room_id: int | None) -> None:
    stmt = select(Room.id).where(Room.streamer_id == streamer_id, Room.state == RoomState.LIVE)
    if room_id is not None:
        stmt = stmt.where(Room.id != room_id)
    other = await session.scalar(stmt.limit(1))
    if other is not None:
        raise Conflict(
            f"streamer {streamer_id} is already live in room {other}", details={"live_room_id": other}
        )


def _check_schedule(when: datetime, now: datetime) -> None:
    """A well-formed time that does not fit the server's clock is a conflict (409), not bad input."""
    if when <= now:
        raise Conflict(
            "scheduled_at must be in the future", details={"field": "scheduled_at", "now": now.isoformat()}
        )
    if when - now > MAX_SCHEDULE_AHEAD:
        raise Conflict(
            f"scheduled_at may be at most {MAX_SCHEDULE_AHEAD.days} days ahead",
            details={"field": "scheduled_at", "now": now.isoformat()},
        )


async def create_room(session: AsyncSession, actor: Principal, data: RoomInput, clock: Clock) -> Room:
    """A streamer (or an operator, naming a streamer) of a qualified shop creates a room."""
    actor.require(Role.STREAMER, Role.SHOP_OPERATOR)
    shop = await get_shop(session, data.shop_id)
    member = await shop_role(session, shop.id, actor)
    if not shop.qualified:
        raise Forbidden(
            f"shop {shop.id} is not qualified to sell live ({shop.live_status})",
            details={"shop_id": shop.id, "live_status": shop.live_status},
        )
    streamer_id = data.streamer_id or actor.user_id
    if member.role == MemberRole.STREAMER and streamer_id != actor.user_id:
        raise Forbidden("a streamer creates rooms for themselves only", details={"field": "streamer_id"})
    if streamer_id != actor.user_id:
        target = await membership(session, shop.id, streamer_id)
        if target is None or target.role != MemberRole.STREAMER:
            raise Conflict(
                f"user {streamer_id} is not a streamer of shop {shop.id}", details={"field": "streamer_id"}
            )
    elif member.role != MemberRole.STREAMER:
        raise Forbidden(
            "an operator does not host rooms: name the streamer who will", details={"field": "streamer_id"}
        )
    if data.start_now == (data.scheduled_at is not None):
        raise InvalidInput("give either start_now or scheduled_at", details={"field": "scheduled_at"})
    now = clock()
    if data.start_now:
        if streamer_id != actor.user_id:
            raise Forbidden("only the streamer can start a room now", details={"field": "start_now"})
        await _ensure_not_live_elsewhere(session, streamer_id, None)
    else:
        assert data.scheduled_at is not None
        _check_schedule(data.scheduled_at, now)
    room = Room(
        shop_id=shop.id,
        streamer_id=streamer_id,
        title=data.title,
        cover_url=data.cover_url or None,
        description=data.description,
        state=RoomState.SCHEDULED,
        scheduled_at=data.scheduled_at or now,
        started_at=None,
        ended_at=None,
        end_reason=None,
        explaining_listing_id=None,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(room)
    await session.flush()
    role = Role.STREAMER if member.role == MemberRole.STREAMER else Role.SHOP_OPERATOR
    await record_transition(
        session,
        entity="room",
        entity_id=room.id,
        from_state=None,
        to_state=RoomState.SCHEDULED,
        actor_id=actor.user_id,
        actor_role=role,
        at=now,
    )
    room_event(session, room, "room.created", {"state": RoomState.SCHEDULED}, now)
    if data.start_now:
        await _transition(session, room, RoomState.LIVE, actor, role, now)
    return room


async def update_room(
    session: AsyncSession,
    actor: Principal,
    room_id: int,
    *,
    title: str | None,
    cover_url: str | None,
    description: str | None,
    scheduled_at: datetime | None,
    clock: Clock,
) -> Room:
    """Edit a scheduled room: None leaves a field as it is; an empty ``cover_url`` removes the cover."""
    room = await get_room(session, room_id, for_update=True)
    await require_room_manager(session, room, actor)
    if room.state != RoomState.SCHEDULED:
        raise Conflict(
            f"room {room.id} is {room.state}; a room is editable only while scheduled",
            details={"state": room.state, "editable_states": [RoomState.SCHEDULED]},
        )
    now = clock()
    changed: dict[str, Any] = {}
    if scheduled_at is not None:
        _check_schedule(scheduled_at, now)
        room.scheduled_at = scheduled_at
        changed["scheduled_at"] = scheduled_at.isoformat()
    for name, value in (("title", title), ("cover_url", cover_url), ("description", description)):
        if value is not None:
            if name == "cover_url" and value == "":
                value = None  # an empty address clears the cover (the recording's snapshot may become it)
            setattr(room, name, value)
            changed[name] = value
    if changed:
        room.updated_at = now
        room_event(session, room, "room.updated", changed, now)
    return room


async def start_room(session: AsyncSession, actor: Principal, room_id: int, clock: Clock) -> Room:
    """The room's streamer goes live; the shop must still be qualified."""
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    if room.streamer_id != actor.user_id:
        raise Forbidden("only the room's streamer can go live", details={"streamer_id": room.streamer_id})
    ROOM.check(room.state, RoomState.LIVE)
    shop = await get_shop(session, room.shop_id)
    if not shop.qualified:
        raise Forbidden(
            f"shop {shop.id} is not qualified to sell live ({shop.live_status})",
            details={"shop_id": shop.id, "live_status": shop.live_status},
        )
    await _ensure_not_live_elsewhere(session, room.streamer_id, room.id)
    await _transition(session, room, RoomState.LIVE, actor, actor_role(member), clock())
    return room


async def start_by_stream(session: AsyncSession, room: Room, actor_id: str, now: datetime) -> None:
    """The room's stream started and rooms go live by stream: the same checks as the streamer's start.
    ``room`` is locked by the caller."""
    ROOM.check(room.state, RoomState.LIVE)
    shop = await get_shop(session, room.shop_id)
    if not shop.qualified:
        raise Forbidden(
            f"shop {shop.id} is not qualified to sell live ({shop.live_status})",
            details={"shop_id": shop.id, "live_status": shop.live_status},
        )
    await _ensure_not_live_elsewhere(session, room.streamer_id, room.id)
    await _transition(session, room, RoomState.LIVE, Principal(actor_id), "system", now)


async def end_by_stream(session: AsyncSession, room: Room, actor_id: str, now: datetime, reason: str) -> None:
    """The room's stream stayed down past the grace period. ``room`` is locked by the caller."""
    await _transition(session, room, RoomState.ENDED, Principal(actor_id), "system", now, reason)


def actor_role(member: ShopMember) -> str:
    return Role.STREAMER if member.role == MemberRole.STREAMER else Role.SHOP_OPERATOR


async def end_room(session: AsyncSession, actor: Principal, room_id: int, clock: Clock) -> Room:
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    await _transition(session, room, RoomState.ENDED, actor, actor_role(member), clock())
    return room


async def cancel_room(
    session: AsyncSession, actor: Principal, room_id: int, reason: str | None, clock: Clock
) -> Room:
    room = await get_room(session, room_id, for_update=True)
    member = await require_room_manager(session, room, actor)
    await _transition(session, room, RoomState.CANCELLED, actor, actor_role(member), clock(), reason)
    return room


async def force_end(session: AsyncSession, actor: Principal, room_id: int, reason: str, clock: Clock) -> Room:
    """Platform staff end a room that breaks the rules; the reason is recorded and audited."""
    actor.require(Role.PLATFORM_STAFF)
    if not reason.strip():
        raise InvalidInput("a reason is required to force-end a room", details={"field": "reason"})
    room = await get_room(session, room_id, for_update=True)
    now = clock()
    previous = room.state
    await _transition(session, room, RoomState.FORCE_ENDED, actor, Role.PLATFORM_STAFF, now, reason)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.PLATFORM_STAFF,
        action="room.force_end",
        target_type="room",
        target_id=room.id,
        at=now,
        reason=reason,
        details={"from": previous, "shop_id": room.shop_id, "streamer_id": room.streamer_id},
    )
    return room


async def subscribe(session: AsyncSession, actor: Principal, room_id: int, clock: Clock) -> bool:
    """Ask to be told when a scheduled room goes live. Idempotent: returns False if already subscribed."""
    room = await get_room(session, room_id)
    if room.state != RoomState.SCHEDULED:
        raise Conflict(
            f"room {room.id} is {room.state}; only scheduled rooms take subscriptions",
            details={"state": room.state},
        )
    existing = await session.scalar(
        select(RoomSubscription.id).where(
            RoomSubscription.room_id == room_id, RoomSubscription.user_id == actor.user_id
        )
    )
    if existing is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(RoomSubscription(room_id=room_id, user_id=actor.user_id, created_at=clock()))
    except IntegrityError:
        return False
    return True


async def unsubscribe(session: AsyncSession, actor: Principal, room_id: int) -> bool:
    await get_room(session, room_id)
    sub = await session.scalar(
        select(RoomSubscription).where(
            RoomSubscription.room_id == room_id, RoomSubscription.user_id == actor.user_id
        )
    )
    if sub is None:
        return False
    await session.delete(sub)
    return True


async def subscriber_counts(session: AsyncSession, room_ids: list[int]) -> dict[int, int]:
    if not room_ids:
        return {}
    rows = await session.execute(
        select(RoomSubscription.room_id, func.count())
        .where(RoomSubscription.room_id.in_(room_ids))
        .group_by(RoomSubscription.room_id)
    )
    counts = {rid: 0 for rid in room_ids}
    counts.update({rid: int(n) for rid, n in rows})
    return counts


async def is_subscribed(session: AsyncSession, actor: Principal | None, room_id: int) -> bool:
    if actor is None:
        return False
    found = await session.scalar(
        select(RoomSubscription.id).where(
            RoomSubscription.room_id == room_id, RoomSubscription.user_id == actor.user_id
        )
    )
    return found is not None


_STATE_ORDER = case(
    {RoomState.LIVE: 0, RoomState.SCHEDULED: 1, RoomState.ENDED: 2, RoomState.FORCE_ENDED: 3},
    value=Room.state,
    else_=4,
)


async def list_rooms(
    session: AsyncSession,
    *,
    states: list[RoomState] | None,
    shop_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Room], int]:
    """Rooms, live first, then scheduled (soonest first), then ended (latest first)."""
    stmt = select(Room)
    count = select(func.count()).select_from(Room)
    if states:
        stmt = stmt.where(Room.state.in_(states))
        count = count.where(Room.state.in_(states))
    if shop_id is not None:
        stmt = stmt.where(Room.shop_id == shop_id)
        count = count.where(Room.shop_id == shop_id)
    stmt = stmt.order_by(
        _STATE_ORDER,
        case((Room.state == RoomState.SCHEDULED, Room.scheduled_at), else_=None).asc(),
        Room.updated_at.desc(),
        Room.id.desc(),
    )
    rows = await session.scalars(stmt.limit(limit).offset(offset))
    return list(rows), int(await session.scalar(count) or 0)


async def require_room_reader(session: AsyncSession, room: Room, actor: Principal) -> None:
    """History and reports: platform staff, or the room's shop members."""
    if actor.is_staff:
        return
    if await membership(session, room.shop_id, actor.user_id) is None:
        raise Forbidden("only the room's shop and platform staff can read this", details={"room_id": room.id})


async def record_audience(
    session: AsyncSession,
    room_id: int,
    *,
    peak: int,
    unique: int,
    likes: int,
    danmaku: int = 0,
    watch_seconds: int = 0,
    sessions: int = 0,
    online: int | None = None,
    at: datetime | None = None,
) -> None:
    """Keep the room's audience figures for its report. Peak, unique viewers and likes only ever grow
    (processes may race); danmaku, watch time and sessions are this process's increments; ``online``
    is sampled into the minute of ``at``."""

    def grow(column: Any, value: int) -> Any:
        return case((column < value, value), else_=column)

    await session.execute(
        update(Room)
        .where(Room.id == room_id)
        .values(
            peak_viewers=grow(Room.peak_viewers, peak),
            unique_viewers=grow(Room.unique_viewers, unique),
            likes=grow(Room.likes, likes),
            danmaku=Room.danmaku + danmaku,
            watch_seconds=Room.watch_seconds + watch_seconds,
            sessions=Room.sessions + sessions,
        )
        .execution_options(synchronize_session=False)
    )
    if online is not None and at is not None:
        minute = at.replace(second=0, microsecond=0)
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert(RoomMinute).values(room_id=room_id, minute=minute, viewers=online)
        stmt = stmt.on_conflict_do_update(
            index_elements=[RoomMinute.room_id, RoomMinute.minute],
            set_={"viewers": case((RoomMinute.viewers < online, online), else_=RoomMinute.viewers)},
        )
        await session.execute(stmt)


async def follow(
    session: AsyncSession, actor: Principal, streamer_id: str, room_id: int | None, at: datetime
) -> bool:
    """Follow a streamer (from a room, if given); following twice changes nothing. True if new."""
    if streamer_id == actor.user_id:
        raise Conflict("you cannot follow yourself", details={"field": "streamer_id"})
    if await session.scalar(select(Room.id).where(Room.streamer_id == streamer_id).limit(1)) is None:
        raise NotFound("streamer", streamer_id)
    if room_id is not None:
        room = await get_room(session, room_id)
        if room.streamer_id != streamer_id:
            raise Conflict(f"room {room_id} is not {streamer_id}'s", details={"field": "room_id"})
    exists = await session.scalar(
        select(StreamerFollow.id).where(
            StreamerFollow.streamer_id == streamer_id, StreamerFollow.user_id == actor.user_id
        )
    )
    if exists is not None:
        return False
    session.add(
        StreamerFollow(streamer_id=streamer_id, user_id=actor.user_id, room_id=room_id, created_at=at)
    )
    try:
        await session.flush()
    except IntegrityError:
        return False
    return True


async def unfollow(session: AsyncSession, actor: Principal, streamer_id: str) -> bool:
    result = await session.execute(
        delete(StreamerFollow).where(
            StreamerFollow.streamer_id == streamer_id, StreamerFollow.user_id == actor.user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
