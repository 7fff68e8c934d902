"""Explicit state machines and the one table that records every move (who, when, from, to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId
from commerce.core.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """A transition table: for each state, the states it may move to."""

    entity: str
    table: Mapping[S, frozenset[S]]

    def allowed(self, current: S) -> frozenset[S]:
        return self.table.get(current, frozenset())

    def check(self, current: S, target: S) -> None:
        """Raise InvalidTransition (409) naming the allowed moves unless ``current -> target`` is legal."""
        allowed = self.allowed(current)
        if target not in allowed:
            raise InvalidTransition(self.entity, str(current), str(target), [str(s) for s in allowed])

    def is_final(self, state: S) -> bool:
        return not self.allowed(state)


class TransitionRecord(Base):
    """One recorded move of one entity's state."""

    __tablename__ = "state_transitions"
    __table_args__ = (Index("ix_state_transitions_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(BigId)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


async def record_transition(
    session: AsyncSession,
    *,
    entity: str,
    entity_id: int,
    from_state: str | None,
    to_state: str,
    actor_id: str,
    actor_role: str,
    at: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TransitionRecord:
    rec = TransitionRecord(
        entity=entity,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor_id,
        actor_role=actor_role,
        reason=reason,
        at=at,
        data=data or {},
    )
    session.add(rec)
    return rec


async def history(session: AsyncSession, entity: str, entity_id: int) -> list[TransitionRecord]:
    rows = await session.scalars(
        select(TransitionRecord)
        .where(TransitionRecord.entity == entity, TransitionRecord.entity_id == entity_id)
        .order_by(TransitionRecord.id)
    )
    return list(rows)
