"""Moderation actions: the word list and its filter, the review queue, mutes and room admins (sending a
danmaku is ``live.moderation.service.send_danmaku``). Changes that viewers must see (a removed danmaku,
a mute) are room state events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.audit import record_audit
from commerce.core.db import Clock
from commerce.core.errors import Conflict, Forbidden, NotFound
from commerce.core.identity import Principal, Role
from commerce.core.transitions import record_transition
from live.moderation.models import ChatReview, ReviewStatus, RoomAdmin, RoomMute, SensitiveWord, WordAction
from live.moderation.transitions import REVIEW
from live.rooms.actions import get_room, room_event, shop_role
from live.rooms.models import Room
from live.rooms.transitions import FINAL

ROOM_ADMIN = "room_admin"  # the actor role recorded when a named room admin acts


@dataclass(frozen=True)
class Verdict:
    """What the word list says of a danmaku."""

    text: str  # as it will be shown (masked words replaced by *)
    blocked: list[str]
    masked: list[str]


class WordFilter:
    """Case-insensitive matching of the staff's word list; built once per list version."""

    def __init__(self, words: list[tuple[str, WordAction]]) -> None:
        self._block = [w.lower() for w, a in words if a == WordAction.BLOCK]
        mask = [w for w, a in words if a == WordAction.MASK]
        self._mask = (
            re.compile("|".join(re.escape(w) for w in sorted(mask, key=len, reverse=True)), re.IGNORECASE)
            if mask
            else None
        )

    def check(self, text: str) -> Verdict:
        lowered = text.lower()
        blocked = [w for w in self._block if w in lowered]
        masked: list[str] = []
        shown = text
        if self._mask is not None:
            masked = sorted({m.group(0).lower() for m in self._mask.finditer(text)})
            shown = self._mask.sub(lambda m: "*" * len(m.group(0)), text)
        return Verdict(shown, blocked, masked)


async def load_filter(session: AsyncSession) -> WordFilter:
    rows = await session.execute(select(SensitiveWord.word, SensitiveWord.action))
    return WordFilter([(w, WordAction(a)) for w, a in rows])


async def list_words(session: AsyncSession, actor: Principal) -> list[SensitiveWord]:
    actor.require(Role.PLATFORM_STAFF)
    return list(await session.scalars(select(SensitiveWord).order_by(SensitiveWord.word)))


async def add_word(
    session: AsyncSession, actor: Principal, word: str, action: WordAction, clock: Clock
) -> SensitiveWord:
    actor.require(Role.PLATFORM_STAFF)
    word = word.strip().lower()
    exists = await session.scalar(
        select(func.count()).select_from(SensitiveWord).where(SensitiveWord.word == word)
    )
    if exists:
        raise Conflict(f"{word!r} is already on the list", details={"word": word})
    entry = SensitiveWord(word=word, action=action, created_by=actor.user_id, created_at=clock())
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{word!r} is already on the list", details={"word": word}) from exc
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.PLATFORM_STAFF,
        action="moderation.word_added",
        target_type="word",
        target_id=entry.id,
        at=entry.created_at,
        details={"word": word, "action": action},
    )
    return entry


async def remove_word(session: AsyncSession, actor: Principal, word_id: int, clock: Clock) -> None:
    actor.require(Role.PLATFORM_STAFF)
    entry = await session.get(SensitiveWord, word_id)
    if entry is None:
        raise NotFound("word", word_id)
    await session.delete(entry)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.PLATFORM_STAFF,
        action="moderation.word_removed",
        target_type="word",
        target_id=word_id,
        at=clock(),
        details={"word": entry.word},
    )


async def queue_review(
    session: AsyncSession,
    *,
    chat_id: str,
    room_id: int,
    user_id: str,
    original: str,
    verdict: Verdict,
    at: datetime,
) -> None:
    session.add(
        ChatReview(
            chat_id=chat_id,
            room_id=room_id,
            user_id=user_id,
            original=original,
            shown=verdict.text,
            words=",".join(verdict.masked)[:500],
            status=ReviewStatus.PENDING,
            reviewed_by=None,
            created_at=at,
            reviewed_at=None,
        )
    )


async def list_reviews(
    session: AsyncSession,
    actor: Principal,
    *,
    status: ReviewStatus | None,
    room_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ChatReview], int]:
    actor.require(Role.PLATFORM_STAFF)
    stmt = select(ChatReview)
    count = select(func.count()).select_from(ChatReview)
    if status is not None:
        stmt, count = stmt.where(ChatReview.status == status), count.where(ChatReview.status == status)
    if room_id is not None:
        stmt, count = stmt.where(ChatReview.room_id == room_id), count.where(ChatReview.room_id == room_id)
    rows = list(await session.scalars(stmt.order_by(ChatReview.id).limit(limit).offset(offset)))
    return rows, int(await session.scalar(count) or 0)


async def review(
    session: AsyncSession, actor: Principal, review_id: int, target: ReviewStatus, clock: Clock
) -> ChatReview:
    """Approve a queued danmaku, or remove it: removal is broadcast so every client takes it down."""
    actor.require(Role.PLATFORM_STAFF)
    item = await session.scalar(select(ChatReview).where(ChatReview.id == review_id).with_for_update())
    if item is None:
        raise NotFound("review", review_id)
    REVIEW.check(item.status, target)
    now = clock()
    await record_transition(
        session,
        entity="chat_review",
        entity_id=item.id,
        from_state=item.status,
        to_state=target,
        actor_id=actor.user_id,
        actor_role=Role.PLATFORM_STAFF,
        at=now,
    )
    item.status, item.reviewed_by, item.reviewed_at = target, actor.user_id, now
    if target == ReviewStatus.REMOVED:
        room = await get_room(session, item.room_id, for_update=True)
        room_event(session, room, "chat.removed", {"chat_id": item.chat_id}, now)
        record_audit(
            session,
            actor_id=actor.user_id,
            actor_role=Role.PLATFORM_STAFF,
            action="moderation.chat_removed",
            target_type="room",
            target_id=item.room_id,
            at=now,
            details={"chat_id": item.chat_id, "user_id": item.user_id},
        )
    return item


async def _require_muter(session: AsyncSession, room: Room, actor: Principal) -> str:
    if actor.is_staff:
        return Role.PLATFORM_STAFF
    try:
        member = await shop_role(session, room.shop_id, actor)
    except Forbidden:
        if await is_room_admin(session, room.id, actor.user_id):
            return ROOM_ADMIN
        raise Forbidden(
            "only platform staff, the room's shop and its room admins may mute", details={"room_id": room.id}
        ) from None
    return Role.STREAMER if member.role == "streamer" else Role.SHOP_OPERATOR


async def is_room_admin(session: AsyncSession, room_id: int, user_id: str) -> bool:
    found = await session.scalar(
        select(RoomAdmin.id).where(RoomAdmin.room_id == room_id, RoomAdmin.user_id == user_id)
    )
    return found is not None


async def list_admins(session: AsyncSession, room_id: int) -> list[RoomAdmin]:
    return list(
        await session.scalars(select(RoomAdmin).where(RoomAdmin.room_id == room_id).order_by(RoomAdmin.id))
    )


async def name_admin(
    session: AsyncSession, actor: Principal, room_id: int, user_id: str, clock: Clock
) -> RoomAdmin:
    """The room's shop (its streamer or an operator) names a room admin; naming one twice is a no-op."""
    room = await get_room(session, room_id, for_update=True)
    member = await shop_role(session, room.shop_id, actor)
    if room.state in FINAL:
        raise Conflict("the room has ended", details={"room_id": room_id, "state": room.state})
    if user_id == room.streamer_id:
        raise Conflict("the room's streamer moderates the room already", details={"user_id": user_id})
    existing = await session.scalar(
        select(RoomAdmin).where(RoomAdmin.room_id == room_id, RoomAdmin.user_id == user_id)
    )
    if existing is not None:
        return existing
    now = clock()
    entry = RoomAdmin(room_id=room_id, user_id=user_id, named_by=actor.user_id, created_at=now)
    session.add(entry)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.STREAMER if member.role == "streamer" else Role.SHOP_OPERATOR,
        action="room.admin.name",
        target_type="room",
        target_id=room_id,
        at=now,
        details={"user_id": user_id},
    )
    await session.flush()
    return entry


async def remove_admin(
    session: AsyncSession, actor: Principal, room_id: int, user_id: str, clock: Clock
) -> bool:
    """The room's shop takes a room admin's role away; False if the user was not one."""
    room = await get_room(session, room_id, for_update=True)
    member = await shop_role(session, room.shop_id, actor)
    result = await session.execute(
        delete(RoomAdmin).where(RoomAdmin.room_id == room_id, RoomAdmin.user_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=Role.STREAMER if member.role == "streamer" else Role.SHOP_OPERATOR,
        action="room.admin.remove",
        target_type="room",
        target_id=room_id,
        at=clock(),
        details={"user_id": user_id},
    )
    return True


async def mute(
    session: AsyncSession, actor: Principal, room_id: int, user_id: str, reason: str | None, clock: Clock
) -> RoomMute:
    room = await get_room(session, room_id, for_update=True)
    role = await _require_muter(session, room, actor)
    if user_id == room.streamer_id:
        raise Conflict("the room's streamer cannot be muted in their own room", details={"user_id": user_id})
    existing = await session.scalar(
        select(RoomMute).where(RoomMute.room_id == room_id, RoomMute.user_id == user_id)
    )
    if existing is not None:
        return existing
    now = clock()
    entry = RoomMute(room_id=room_id, user_id=user_id, muted_by=actor.user_id, reason=reason, created_at=now)
    session.add(entry)
    room_event(session, room, "room.muted", {"user_id": user_id}, now)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=role,
        action="room.mute",
        target_type="room",
        target_id=room_id,
        at=now,
        reason=reason,
        details={"user_id": user_id},
    )
    return entry


async def unmute(session: AsyncSession, actor: Principal, room_id: int, user_id: str, clock: Clock) -> bool:
    room = await get_room(session, room_id, for_update=True)
    role = await _require_muter(session, room, actor)
    result = await session.execute(
        delete(RoomMute).where(RoomMute.room_id == room_id, RoomMute.user_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    now = clock()
    room_event(session, room, "room.unmuted", {"user_id": user_id}, now)
    record_audit(
        session,
        actor_id=actor.user_id,
        actor_role=role,
        action="room.unmute",
        target_type="room",
        target_id=room_id,
        at=now,
        details={"user_id": user_id},
    )
    return True


async def muted_users(session: AsyncSession, room_id: int) -> set[str]:
    return set(await session.scalars(select(RoomMute.user_id).where(RoomMute.room_id == room_id)))
