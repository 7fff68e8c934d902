"""Staff: the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from live.api.schemas.common import LINE, MAX_ID, Out, PageQuery, UserId


class AuditOut(Out):
    id: int
    actor_id: str
    actor_role: str
    action: str
    target_type: str
    target_id: int
    reason: str | None
    details: dict[str, Any]
    at: datetime


class AuditPage(Out):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class AuditQuery(PageQuery):
    action: Annotated[str, StringConstraints(max_length=64, pattern=LINE)] | None = None
    target_type: Literal["shop", "room", "listing", "product"] | None = None
    target_id: int | None = Field(None, ge=1, le=MAX_ID)
    actor_id: UserId | None = None
