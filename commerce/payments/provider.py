"""The payment provider interface, and what crosses it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

import httpx

from commerce.core.errors import Unauthenticated


class ProviderError(Exception):
    """The provider refused or failed a call (its status and answer kept for the logs)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"provider answered {status}: {body[:200]}")
        self.status = status


async def signed_call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    authorization: Callable[[str, str, bytes], str],
) -> httpx.Response:
    """Send a JSON request whose ``Authorization`` signs method, URL and body (each provider has its
    scheme); a 4xx/5xx answer raises ProviderError."""
    raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    headers = {"Authorization": authorization(method, url, raw), "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    r = await http.request(method, url, content=raw, headers=headers)
    if r.status_code >= 400:
        raise ProviderError(r.status_code, r.text)
    return r


class InvalidSignature(Unauthenticated):
    """A notification whose signature (or timestamp) does not verify: refused, nothing changes."""

    code = "invalid_signature"


@dataclass(frozen=True)
class PayRequest:
    out_trade_no: str
    amount_minor: int
    currency: str
    description: str
    notify_url: str
    expires_at: datetime


@dataclass(frozen=True)
class PayInstructions:
    """What the client needs to pay: a page to open, or parameters for the provider's app SDK."""

    pay_url: str | None
    client_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    notice_id: str
    kind: Literal["payment", "refund"]
    out_trade_no: str
    status: str  # payment: "paid" or "closed"; refund: "succeeded" or "failed"
    amount_minor: int
    currency: str
    provider_txn_id: str | None = None
    out_refund_no: str | None = None
    at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundAnswer:
    out_refund_no: str
    status: Literal["pending", "succeeded", "failed"]
    provider_refund_id: str | None = None


@dataclass(frozen=True)
class PaymentState:
    out_trade_no: str
    status: str  # "created", "paid", "closed", "refunded"
    amount_minor: int
    currency: str
    provider_txn_id: str | None = None


@dataclass(frozen=True)
class StatementLine:
    kind: Literal["payment", "refund"]
    out_trade_no: str
    out_refund_no: str | None
    amount_minor: int  # positive for payments and refunds alike
    fee_minor: int
    currency: str


class PaymentProvider(Protocol):
    name: str

    async def create(self, request: PayRequest) -> PayInstructions: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Verify the signature (raising InvalidSignature) and parse the notification."""
        ...

    async def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        amount_minor: int,
        total_minor: int,
        currency: str,
        reason: str,
    ) -> RefundAnswer:
        """Ask for a refund; the same ``out_refund_no`` asked twice is one refund."""
        ...

    async def query_payment(self, out_trade_no: str) -> PaymentState: ...

    async def query_refund(self, out_refund_no: str) -> RefundAnswer: ...

    async def statement(self, day: date) -> bytes:
        """The provider's statement of a day: CSV of payments, refunds and fees."""
        ...

    def parse_statement(self, raw: bytes) -> list[StatementLine]:
        """The statement's lines in our terms."""
        ...

    async def close(self) -> None: ...
