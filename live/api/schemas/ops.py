"""Operations: health and readiness."""

from __future__ import annotations

from typing import Literal

from live.api.schemas.common import Out


class HealthOut(Out):
    status: Literal["ok"]


class ReadyCheck(Out):
    name: str
    ok: bool
    error: str | None = None
    latency_ms: float


class ReadyOut(Out):
    status: Literal["ready", "not_ready"]
    checks: list[ReadyCheck]
