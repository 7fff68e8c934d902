"""Payments for orders: create at the provider, apply verified notifications exactly once, refund.

Notifications are idempotent twice over: each provider notice id is stored once (a duplicate changes
nothing), and applying "paid" to a payment already paid is a no-op. An amount or currency that does not
match the order is not applied: it is flagged for finance. Money that arrives for an order that has
closed meanwhile is refunded automatically (our refund id makes the request safe to repeat) and flagged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.core.database import Database
from commerce.core.db import Clock
from commerce.core.errors import Conflict, NotFound, Unavailable
from commerce.core.transitions import record_transition
from commerce.orders import actions as order_actions
from commerce.orders.models import OrderStatus
from commerce.orders.transitions import Actor
from commerce.payments.models import FinanceFlag, Payment, PaymentNotice, PaymentStatus, Refund, RefundStatus
from commerce.payments.provider import Notification, PaymentProvider, PayRequest
from commerce.payments.transitions import PAYMENT, REFUND

log = logging.getLogger("yellowcart.payments")

SYSTEM = "system"


@dataclass(frozen=True)
class Checkout:
    payment: Payment
    pay_url: str | None
    client_params: dict[str, Any]


@dataclass(frozen=True)
class NoticeOutcome:
    outcome: str  # applied, duplicate, already_applied, flagged, refunding, refund_applied, ignored
    order_id: int | None = None
    order_paid: bool = False


class PaymentService:
    def __init__(self, db: Database, provider: PaymentProvider, clock: Clock, *, notify_url: str) -> None:
        self.db = db
        self.provider = provider
        self.clock = clock
        self.notify_url = notify_url

    # --- paying ---------------------------------------------------------------------------------

    async def checkout(self, order_id: int, buyer_id: str) -> Checkout:
        """Start paying an unpaid order; asking again returns the same payment."""
        async with self.db.transaction() as s:
            order = await order_actions.get_order(s, order_id, for_update=True)
            if order.buyer_id != buyer_id:
                raise NotFound("order", order_id)
            if order.status != OrderStatus.PENDING_PAYMENT:
                raise Conflict(
                    f"order {order_id} is {order.status}; only unpaid orders are paid",
                    details={"status": order.status},
                )
            payment = await s.scalar(
                select(Payment).where(Payment.order_id == order_id, Payment.status == PaymentStatus.CREATED)
            )
            if payment is None:
                now = self.clock()
                payment = Payment(
                    order_id=order_id,
                    provider=self.provider.name,
                    out_trade_no=f"YC{order_id}T{uuid.uuid4().hex[:12].upper()}",
                    amount_minor=order.total_minor,
                    currency=order.currency,
                    status=PaymentStatus.CREATED,
                    created_at=now,
                    updated_at=now,
                )
                s.add(payment)
                await s.flush()
                await record_transition(
                    s,
                    entity="payment",
                    entity_id=payment.id,
                    from_state=None,
                    to_state=PaymentStatus.CREATED,
                    actor_id=buyer_id,
                    actor_role=Actor.BUYER,
                    at=now,
                )
            request = PayRequest(
                out_trade_no=payment.out_trade_no,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                description=order.title[:120],
                notify_url=self.notify_url,
                expires_at=order.pay_by,
            )
        try:  # after the commit: the provider may be slow; a retry reuses the same out_trade_no
            answer = await self.provider.create(request)
        except Exception as exc:
            log.warning("payment provider did not create the payment", exc_info=True)
            raise Unavailable("the payment provider is not answering; try again shortly") from exc
        if answer.pay_url and payment.pay_url != answer.pay_url:
            async with self.db.transaction() as s:
                row = await s.get(Payment, payment.id)
                assert row is not None
                row.pay_url = answer.pay_url
                payment = row
        return Checkout(payment, answer.pay_url, answer.client_params)

    # --- notifications --------------------------------------------------------------------------

    async def notification(self, headers: Mapping[str, str], body: bytes) -> NoticeOutcome:
        """Verify (InvalidSignature: nothing is written) and apply a provider notification once."""
        n = self.provider.parse_notification(headers, body, self.clock())
        refund_to_request: int | None = None
        try:
            async with self.db.transaction() as s:
                s.add(
                    PaymentNotice(
                        provider=self.provider.name,
                        notice_id=n.notice_id,
                        kind=n.kind,
                        out_trade_no=n.out_trade_no,
                        outcome="received",
                        payload=n.raw,
                        received_at=self.clock(),
                    )
                )
                await s.flush()
                result, refund_to_request = await self._apply(s, n)
                notice = await s.scalar(
                    select(PaymentNotice).where(
                        PaymentNotice.provider == self.provider.name, PaymentNotice.notice_id == n.notice_id
                    )
                )
                assert notice is not None
                notice.outcome = result.outcome
        except IntegrityError:
            return NoticeOutcome("duplicate")
        if refund_to_request is not None:
            await self.request_refund(refund_to_request)
        return result

    async def _apply(self, s: AsyncSession, n: Notification) -> tuple[NoticeOutcome, int | None]:
        payment = await s.scalar(
            select(Payment).where(Payment.out_trade_no == n.out_trade_no).with_for_update()
        )
        now = self.clock()
        if payment is None:
            self._flag(
                s,
                "unknown_payment",
                None,
                None,
                {"out_trade_no": n.out_trade_no, "amount_minor": n.amount_minor},
            )
            return NoticeOutcome("flagged"), None
        if n.kind == "refund":
            return await self._apply_refund(s, payment, n), None
        if n.status != "paid":
            if payment.status == PaymentStatus.CREATED:
                await self._move_payment(
                    s, payment, PaymentStatus.CLOSED, now, reason=f"provider: {n.status}"
                )
            return NoticeOutcome("ignored", payment.order_id), None
        if payment.status != PaymentStatus.CREATED:
            return NoticeOutcome("already_applied", payment.order_id), None
        if (n.amount_minor, n.currency) != (payment.amount_minor, payment.currency):
            self._flag(
                s,
                "amount_mismatch",
                payment.order_id,
                payment.id,
                {
                    "expected_minor": payment.amount_minor,
                    "expected_currency": payment.currency,
                    "notified_minor": n.amount_minor,
                    "notified_currency": n.currency,
                    "provider_txn_id": n.provider_txn_id,
                },
            )
            return NoticeOutcome("flagged", payment.order_id), None
        payment.provider_txn_id = n.provider_txn_id
        payment.paid_amount_minor = n.amount_minor
        await self._move_payment(s, payment, PaymentStatus.PAID, now, paid=True)
        order = await order_actions.get_order(s, payment.order_id, for_update=True)
        if order.status == OrderStatus.PENDING_PAYMENT:
            await order_actions.move(
                s,
                order,
                OrderStatus.PAID,
                actor=Actor.SYSTEM,
                actor_id=SYSTEM,
                at=now,
                data={"payment_id": payment.id, "provider_txn_id": n.provider_txn_id},
            )
            return NoticeOutcome("applied", order.id, order_paid=True), None
        # the money came after the order closed (or was cancelled): give it back, and tell finance
        refund = Refund(
            payment_id=payment.id,
            order_id=order.id,
            out_refund_no=f"{payment.out_trade_no}R1",
            amount_minor=n.amount_minor,
            currency=n.currency,
            status=RefundStatus.PENDING,
            reason=f"paid after the order was {order.status}",
            created_at=now,
        )
        s.add(refund)
        await s.flush()
        await record_transition(
            s,
            entity="refund",
            entity_id=refund.id,
            from_state=None,
            to_state=RefundStatus.PENDING,
            actor_id=SYSTEM,
            actor_role=Actor.SYSTEM,
            at=now,
            reason=refund.reason,
        )
        self._flag(
            s, "late_payment", order.id, payment.id, {"order_status": order.status, "refund_id": refund.id}
        )
        return NoticeOutcome("refunding", order.id), refund.id

    async def _apply_refund(self, s: AsyncSession, payment: Payment, n: Notification) -> NoticeOutcome:
        refund = await s.scalar(
            select(Refund).where(Refund.out_refund_no == n.out_refund_no).with_for_update()
        )
        if refund is None:
            self._flag(s, "unknown_refund", payment.order_id, payment.id, {"out_refund_no": n.out_refund_no})
            return NoticeOutcome("flagged", payment.order_id)
        if refund.status != RefundStatus.PENDING:
            return NoticeOutcome("already_applied", payment.order_id)
        await self._finish_refund(s, refund, payment, n.status == "succeeded", n.raw.get("refund_id"))
        return NoticeOutcome("refund_applied", payment.order_id)

    async def _finish_refund(
        self, s: AsyncSession, refund: Refund, payment: Payment, succeeded: bool, provider_id: str | None
    ) -> None:
        now = self.clock()
        target = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
        REFUND.check(refund.status, target)
        await record_transition(
            s,
            entity="refund",
            entity_id=refund.id,
            from_state=refund.status,
            to_state=target,
            actor_id=SYSTEM,
            actor_role=Actor.SYSTEM,
            at=now,
        )
        refund.status, refund.finished_at, refund.provider_refund_id = target, now, provider_id
        if succeeded and payment.status == PaymentStatus.PAID:
            refunded = sum(
                r.amount_minor
                for r in await s.scalars(
                    select(Refund).where(
                        Refund.payment_id == payment.id, Refund.status == RefundStatus.SUCCEEDED
                    )
                )
            )
            if refunded >= (payment.paid_amount_minor or payment.amount_minor):
                await self._move_payment(s, payment, PaymentStatus.REFUNDED, now)

    async def request_refund(self, refund_id: int) -> Refund:
        """Ask the provider for a recorded refund (safe to repeat: the provider keys it by our id)."""
        async with self.db.read() as s:
            refund = await s.get(Refund, refund_id)
            if refund is None:
                raise NotFound("refund", refund_id)
            payment = await s.get(Payment, refund.payment_id)
            assert payment is not None
        if refund.status != RefundStatus.PENDING:
            return refund
        try:
            answer = await self.provider.refund(
                payment.out_trade_no,
                refund.out_refund_no,
                refund.amount_minor,
                payment.paid_amount_minor or payment.amount_minor,
                refund.currency,
                refund.reason[:80],
            )
        except Exception:
            log.warning(
                "refund request failed; it stays pending and is retried", extra={"refund_id": refund_id}
            )
            return refund
        if answer.status in ("succeeded", "failed"):
            async with self.db.transaction() as s:
                row = await s.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
                pay = await s.scalar(select(Payment).where(Payment.id == payment.id).with_for_update())
                assert row is not None and pay is not None
                if row.status == RefundStatus.PENDING:
                    await self._finish_refund(
                        s, row, pay, answer.status == "succeeded", answer.provider_refund_id
                    )
                refund = row
        return refund

    async def pending_refunds(self) -> list[int]:
        async with self.db.read() as s:
            return list(await s.scalars(select(Refund.id).where(Refund.status == RefundStatus.PENDING)))

    # --- helpers --------------------------------------------------------------------------------

    async def _move_payment(
        self,
        s: AsyncSession,
        payment: Payment,
        target: PaymentStatus,
        now: Any,
        *,
        paid: bool = False,
        reason: str | None = None,
    ) -> None:
        PAYMENT.check(payment.status, target)
        await record_transition(
            s,
            entity="payment",
            entity_id=payment.id,
            from_state=payment.status,
            to_state=target,
            actor_id=SYSTEM,
            actor_role=Actor.SYSTEM,
            at=now,
            reason=reason,
        )
        payment.status, payment.updated_at = target, now
        if paid:
            payment.paid_at = now

    def _flag(
        self,
        s: AsyncSession,
        kind: str,
        order_id: int | None,
        payment_id: int | None,
        details: dict[str, Any],
    ) -> None:
        log.warning("payment flagged for finance", extra={"kind": kind, "order_id": order_id})
        s.add(
            FinanceFlag(
                kind=kind, order_id=order_id, payment_id=payment_id, details=details, created_at=self.clock()
            )
        )

    async def reconcile_statement(self, day: date) -> StatementCheck:
        """Compare the provider's statement of ``day`` with our payments and refunds; every line that
        disagrees (unknown to us, another amount, not paid or refunded on our side) is flagged. Asking
        again for the same day flags nothing twice. A day (UTC) is checked only once it has ended: before
        that its statement is not final (a conflict with the clock, not bad input)."""
        ends_at = datetime.combine(day + timedelta(days=1), time.min, UTC)
        if self.clock() < ends_at:
            raise Conflict(
                f"{day.isoformat()} has not ended yet: its statement is final from {ends_at.isoformat()}",
                details={"field": "day", "day": day.isoformat(), "ends_at": ends_at.isoformat()},
            )
        lines = self.provider.parse_statement(await self.provider.statement(day))
        problems: list[dict[str, Any]] = []
        matched = 0
        async with self.db.transaction() as s:
            seen = {
                (f.details.get("day"), f.details.get("out_trade_no"), f.details.get("out_refund_no"))
                for f in await s.scalars(select(FinanceFlag).where(FinanceFlag.kind == "statement_mismatch"))
            }
            for line in lines:
                payment = await s.scalar(select(Payment).where(Payment.out_trade_no == line.out_trade_no))
                problem: str | None = None
                if payment is None:
                    problem = "unknown payment"
                elif line.kind == "payment":
                    if payment.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                        problem = f"the provider has it paid; we have it {payment.status}"
                    elif (payment.paid_amount_minor or payment.amount_minor, payment.currency) != (
                        line.amount_minor,
                        line.currency,
                    ):
                        problem = "amount or currency differs"
                else:
                    refund = await s.scalar(select(Refund).where(Refund.out_refund_no == line.out_refund_no))
                    if refund is None:
                        problem = "unknown refund"
                    elif refund.status != RefundStatus.SUCCEEDED:
                        problem = f"the provider has it refunded; we have it {refund.status}"
                    elif refund.amount_minor != line.amount_minor:
                        problem = "refund amount differs"
                if problem is None:
                    matched += 1
                    continue
                details = {
                    "day": day.isoformat(),
                    "kind": line.kind,
                    "out_trade_no": line.out_trade_no,
                    "out_refund_no": line.out_refund_no,
                    "amount_minor": line.amount_minor,
                    "problem": problem,
                }
                problems.append(details)
                if (details["day"], line.out_trade_no, line.out_refund_no) not in seen:
                    self._flag(
                        s,
                        "statement_mismatch",
                        payment.order_id if payment else None,
                        payment.id if payment else None,
                        details,
                    )
        fees: dict[str, int] = {}
        for x in lines:  # a statement may hold several currencies: fees are summed per currency
            fees[x.currency] = fees.get(x.currency, 0) + x.fee_minor
        return StatementCheck(day.isoformat(), len(lines), matched, fees, problems)

    async def payments_of(self, order_id: int) -> tuple[list[Payment], list[Refund]]:
        async with self.db.read() as s:
            pays = list(
                await s.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))
            )
            refunds = list(
                await s.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))
            )
        return pays, refunds


@dataclass(frozen=True)
class StatementCheck:
    day: str
    lines: int
    matched: int
    fees: dict[str, int]  # currency -> the provider's fees for the day, in minor units
    flags: list[dict[str, Any]]
