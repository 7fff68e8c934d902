"""Payments: checkout, an order's payments and refunds, the provider's notice answer, finance's flags
and the statement check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from live.api.schemas.common import Out


class CheckoutOut(Out):
    payment_id: int
    out_trade_no: str
    provider: str
    amount_minor: int
    currency: str
    pay_url: str | None
    client_params: dict[str, Any]


class PaymentOut(Out):
    id: int
    provider: str
    out_trade_no: str
    provider_txn_id: str | None
    amount_minor: int
    paid_amount_minor: int | None
    currency: str
    status: str
    created_at: datetime
    paid_at: datetime | None


class RefundOut(Out):
    id: int
    out_refund_no: str
    amount_minor: int
    currency: str
    status: str
    reason: str
    created_at: datetime
    finished_at: datetime | None


class OrderPayments(Out):
    payments: list[PaymentOut]
    refunds: list[RefundOut]


class NoticeAnswer(BaseModel):
    code: str
    outcome: str


class FlagOut(Out):
    id: int
    kind: str
    order_id: int | None
    payment_id: int | None
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None


class FlagList(Out):
    items: list[FlagOut]


class FeeOut(Out):
    currency: str
    amount_minor: int


class StatementCheckOut(Out):
    day: str
    lines: int
    matched: int
    fees: list[FeeOut] = Field(description="the provider's fees for the day, per currency, in minor units")
    mismatches: list[dict[str, Any]]
