"""Idempotency keys: a retried request with the same key gets the first answer, never a second effect.

The key is claimed (a unique row per user and key) before the action runs and completed with the
answer afterwards. The same key with a different request is refused; a request still in flight under
the key is reported as such. If the action fails unexpectedly the claim is released so a retry can run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from commerce.core.database import Database
from commerce.core.db import Base, BigId
from commerce.core.errors import Conflict, IdempotencyMismatch


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


def _check(row: IdempotencyKey, request_hash: str) -> StoredAnswer:
    if row.request_hash != request_hash:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request",
            details={"key": row.key, "first_request": f"{row.method} {row.path}"},
        )
    if row.status_code is None or row.response is None:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            details={"key": row.key},
        )
    return StoredAnswer(row.status_code, row.response)


async def claim(
    db: Database, *, user_id: str, key: str, method: str, path: str, request_hash: str, now: datetime
) -> StoredAnswer | None:
    """Claim ``key`` for this request. None: go ahead. A StoredAnswer: answer with it instead."""
    async with db.read() as s:
        row = await s.scalar(
            select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        if row is not None:
            return _check(row, request_hash)

    async def insert(s: AsyncSession) -> None:
        s.add(
            IdempotencyKey(
                user_id=user_id,
                key=key,
                method=method,
                path=path[:500],
                request_hash=request_hash,
                status_code=None,
                response=None,
                created_at=now,
                completed_at=None,
            )
        )

    try:
        await db.run(insert)  # a connection lost before the commit is retried once
    except IntegrityError:  # a concurrent twin claimed it first: answer as it will
        async with db.read() as s:
            row = await s.scalar(
                select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            )
        assert row is not None
        return _check(row, request_hash)
    return None


async def complete(db: Database, *, user_id: str, key: str, answer: StoredAnswer, now: datetime) -> None:
    await db.run(
        lambda s: s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .values(status_code=answer.status_code, response=answer.body, completed_at=now)
        )
    )


async def release(db: Database, *, user_id: str, key: str) -> None:
    await db.run(
        lambda s: s.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.key == key,
                IdempotencyKey.status_code.is_(None),
            )
        )
    )
