"""The audit log of staff and operator decisions, readable by platform staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.db import Base, BigId


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


def record_audit(
    session: AsyncSession,
    *,
    actor_id: str,
    actor_role: str,
    action: str,
    target_type: str,
    target_id: int,
    at: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details or {},
        at=at,
    )
    session.add(entry)
    return entry


async def search(
    session: AsyncSession,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    actor_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Newest first, filtered by any of the given fields."""
    stmt = select(AuditEntry)
    count = select(func.count()).select_from(AuditEntry)
    for column, value in (
        (AuditEntry.action, action),
        (AuditEntry.target_type, target_type),
        (AuditEntry.target_id, target_id),
        (AuditEntry.actor_id, actor_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
            count = count.where(column == value)
    rows = list(await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))
    return rows, int(await session.scalar(count) or 0)
