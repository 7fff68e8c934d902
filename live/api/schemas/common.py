"""The pieces every area's schemas share: the text rules (one line, free text; patterns spelled out so
the document says exactly what the server accepts), ids, money, URLs, user ids, currencies, the base
models for request bodies (``In``, strict), responses (``Out``) and queries, paging, reasons, and the
state transition history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from commerce.core.money import CURRENCIES, MAX_MINOR

MAX_ID = 2**63 - 1

# Patterns spell their character classes out (no \s): the server's regex engine and every JSON Schema
# validator then agree on exactly the same strings, so the document says what the server accepts.
_CONTROL = r"\x00-\x1f\x7f"
_SPACE = r"\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # other Unicode spaces
_VISIBLE = f"[^{_CONTROL}{_SPACE}]"
LINE = f"^[^{_CONTROL}]*$"  # one line: no control characters
_TRIMMED = f"{_VISIBLE}([^{_CONTROL}]*{_VISIBLE})?"  # ... that neither starts nor ends with a space
_PARA = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # text: newlines and tabs allowed


def line(max_length: int, min_length: int = 1) -> StringConstraints:
    """One line of text: no control characters, no space at either end (refused, not trimmed)."""
    pattern = f"^{_TRIMMED}$" if min_length else f"^({_TRIMMED})?$"
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


def para(max_length: int) -> StringConstraints:
    """Free text: newlines and tabs allowed, other control characters refused."""
    return StringConstraints(max_length=max_length, pattern=_PARA)


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR, description="amount in minor units (fen/cents)")]
# an http(s) address with a host name (no user info, no address literal) and an optional port that
# exists; the rest visible characters. The pattern is the whole rule: the document states it.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_URL = f"^https?://{_LABEL}(?:\\.{_LABEL})*(?::{_PORT})?(?:[/?#]{_VISIBLE}*)?$"
Url = Annotated[str, StringConstraints(max_length=500, pattern=_URL)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@\-]+$")]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]


class In(BaseModel):
    """Request bodies: unknown fields and type coercions are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


class ReasonIn(In):
    reason: Annotated[str, line(500)]


class OptionalReasonIn(In):
    reason: Annotated[str, line(500)] | None = None


class TransitionOut(Out):
    entity: str
    entity_id: int
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    reason: str | None
    at: datetime


class TransitionList(Out):
    items: list[TransitionOut]
