"""Moderation's business action that owns its transaction and its follow-up: a viewer sends a danmaku
(the room's rules, the word list, the review queue), then it is published to the room's viewers."""

from __future__ import annotations

import uuid
from collections.abc import Container, Mapping
from typing import Any, Protocol

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.errors import DomainError
from commerce.core.identity import Principal
from live.moderation.actions import WordFilter, queue_review


class DanmakuRefused(DomainError):
    """A danmaku the room does not take; ``code`` says why (login_required, invalid, muted, rate_limited,
    blocked)."""

    def __init__(self, code: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.code = code


class WordList(Protocol):
    """The word list as currently known (``live.moderation.cache.WordListCache``)."""

    async def get(self) -> WordFilter: ...


class ChatOutlet(Protocol):
    """Where an accepted danmaku goes: every viewer of the room (``live.hub.Hub``)."""

    async def publish_chat(self, room_id: int, data: dict[str, Any]) -> None: ...


class Allowance(Protocol):
    """The sender's danmaku allowance (a token bucket): ``take`` is False when it is spent."""

    def take(self) -> bool: ...


def check_text(text: object, max_chars: int) -> str | None:
    """What is wrong with a danmaku's text, or None."""
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string"
    if len(text) > max_chars:
        return f"text longer than {max_chars} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "text contains control characters"
    return None


async def send_danmaku(
    db: Database,
    words: WordList,
    outlet: ChatOutlet,
    *,
    room_id: int,
    sender: Principal | None,
    text: object,
    muted: Container[str],
    allowance: Allowance,
    max_chars: int,
    clock: Clock,
) -> dict[str, Any]:
    """A viewer says something in a room. Refused (``DanmakuRefused``) for a guest, a bad text, a muted
    sender, a spent allowance or a blocked word; words on the mask list are starred out and the original
    is queued for review (committed before the danmaku is shown, so nothing unreviewed is lost). Returns
    the danmaku as every viewer receives it."""
    if sender is None:
        raise DanmakuRefused("login_required", "guests cannot send danmaku")
    problem = check_text(text, max_chars)
    if problem is not None:
        raise DanmakuRefused("invalid", problem)
    assert isinstance(text, str)
    if sender.user_id in muted:
        raise DanmakuRefused("muted", "you are muted in this room")
    if not allowance.take():
        raise DanmakuRefused("rate_limited", "too many danmaku; slow down")
    text = text.strip()
    verdict = (await words.get()).check(text)
    if verdict.blocked:
        raise DanmakuRefused(
            "blocked", "the message contains words that are not allowed", details={"words": verdict.blocked}
        )
    now = clock()
    data: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "user_id": sender.user_id,
        "name": sender.name,
        "text": verdict.text,
        "ts": int(now.timestamp() * 1000),
    }
    if verdict.masked:
        data["masked"] = True
        async with db.transaction() as session:
            await queue_review(
                session,
                chat_id=data["id"],
                room_id=room_id,
                user_id=sender.user_id,
                original=text,
                verdict=verdict,
                at=now,
            )
    await outlet.publish_chat(room_id, data)
    return data
