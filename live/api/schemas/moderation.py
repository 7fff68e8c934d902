"""Moderation: the word list, the review queue, mutes and room admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from live.api.schemas.common import MAX_ID, In, Out, PageQuery, UserId, line


class WordIn(In):
    word: Annotated[str, line(64)]
    action: Literal["mask", "block"]


class WordOut(Out):
    id: int
    word: str
    action: str
    created_by: str
    created_at: datetime


class WordList(Out):
    items: list[WordOut]


class ReviewOut(Out):
    id: int
    chat_id: str
    room_id: int
    user_id: str
    original: str
    shown: str
    words: str
    status: str
    reviewed_by: str | None
    created_at: datetime
    reviewed_at: datetime | None


class ReviewPage(Out):
    items: list[ReviewOut]
    total: int
    limit: int
    offset: int


class ReviewsQuery(PageQuery):
    status: Literal["pending", "approved", "removed"] | None = "pending"
    room_id: int | None = Field(None, ge=1, le=MAX_ID)


class ReviewDecisionIn(In):
    decision: Literal["approve", "remove"]


class MuteIn(In):
    user_id: UserId
    reason: Annotated[str, line(500)] | None = None


class MuteOut(Out):
    room_id: int
    user_id: str
    muted_by: str
    reason: str | None
    created_at: datetime


class MuteList(Out):
    items: list[MuteOut]


class RoomAdminIn(In):
    user_id: UserId


class RoomAdminOut(Out):
    room_id: int
    user_id: str
    named_by: str
    created_at: datetime


class RoomAdminList(Out):
    items: list[RoomAdminOut]
