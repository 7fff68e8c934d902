"""The sandbox payment provider's side (the "bank"), which behaves like a licensed provider, for
development and tests: its own ledger of payments and refunds, asynchronous notifications signed with
HMAC-SHA256 (``commerce/payments/signing.py``, shared with our client) and delivered to the merchant's
``notify_url`` with retries on a schedule like the big providers' (some sent twice, as they do), and a
daily statement (payments, refunds, fees). Its HTTP face is ``app.py``; ``python -m sandbox.payments``
runs it as its own service.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from commerce.payments.signing import notification_headers

log = logging.getLogger("yellowcart.sandbox")

# seconds after the event: the first try at once, then retries like the large providers' schedule
RETRY_SCHEDULE = (0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
FEE_RATE_PPM = 6000  # 0.6 %

Sender = Callable[[str, dict[str, str], bytes], Awaitable[int]]


@dataclass
class Delivery:
    url: str
    body: bytes
    attempt: int = 0
    due: float = 0.0
    duplicate: bool = False


@dataclass
class SandboxPayment:
    out_trade_no: str
    amount_minor: int
    currency: str
    description: str
    notify_url: str
    expires_at: float
    txn_id: str = field(default_factory=lambda: "SBX" + uuid.uuid4().hex[:20].upper())
    status: str = "created"
    paid_amount_minor: int = 0
    paid_at: float | None = None
    refunded_minor: int = 0


@dataclass
class SandboxRefund:
    out_refund_no: str
    out_trade_no: str
    amount_minor: int
    currency: str
    reason: str
    refund_id: str = field(default_factory=lambda: "SBR" + uuid.uuid4().hex[:20].upper())
    status: str = "succeeded"
    at: float = 0.0


class SandboxBank:
    """The provider's side: its ledger, its notifier and its statements."""

    def __init__(
        self,
        *,
        merchant: str = "sandbox-merchant",
        api_key: str = "sandbox-api-key",
        notify_secret: str = "sandbox-notify-secret",
        public_url: str = "http://sandbox.local",
        now: Callable[[], float] = time.time,
        duplicate_every: int = 3,
        sender: Sender | None = None,
    ) -> None:
        self.merchant, self.api_key, self.notify_secret = merchant, api_key, notify_secret
        self.public_url = public_url.rstrip("/")
        self.now = now
        self.duplicate_every = duplicate_every  # every n-th notification is delivered twice (0: never)
        self.payments: dict[str, SandboxPayment] = {}
        self.refunds: dict[str, SandboxRefund] = {}
        self.queue: list[Delivery] = []
        self.delivered: list[tuple[str, bytes, int]] = []  # (url, body, status) of every attempt
        self._sent = 0
        self.sender = sender or _http_sender()  # how notifications reach the merchant

    # --- the merchant API -------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        no = str(body["out_trade_no"])
        existing = self.payments.get(no)
        if existing is not None:
            if (existing.amount_minor, existing.currency) != (body["amount_minor"], body["currency"]):
                raise SandboxError(
                    409, "out_trade_no_reused", "this out_trade_no was used with another amount"
                )
            return self._pay_answer(existing)
        amount = body["amount_minor"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise SandboxError(400, "invalid_amount", "amount_minor must be a positive integer")
        p = SandboxPayment(
            out_trade_no=no,
            amount_minor=amount,
            currency=str(body["currency"]),
            description=str(body.get("description", ""))[:128],
            notify_url=str(body["notify_url"]),
            expires_at=datetime.fromisoformat(str(body["expires_at"])).timestamp(),
        )
        self.payments[no] = p
        return self._pay_answer(p)

    def _pay_answer(self, p: SandboxPayment) -> dict[str, Any]:
        return {
            "out_trade_no": p.out_trade_no,
            "pay_url": f"{self.public_url}/pay/{p.out_trade_no}",
            "prepay_id": "prepay_" + p.txn_id,
        }

    def pay(self, out_trade_no: str, amount_minor: int | None = None) -> SandboxPayment:
        """The buyer pays (the page's button; tests may pay a different amount to simulate a mismatch)."""
        p = self._payment(out_trade_no)
        if p.status == "paid":
            return p
        if p.status != "created":
            raise SandboxError(409, "not_payable", f"payment is {p.status}")
        if self.now() > p.expires_at:
            p.status = "closed"
            raise SandboxError(409, "expired", "the payment expired")
        p.status, p.paid_at = "paid", self.now()
        p.paid_amount_minor = p.amount_minor if amount_minor is None else amount_minor
        self._notify(
            p.notify_url,
            {
                "kind": "payment",
                "out_trade_no": p.out_trade_no,
                "txn_id": p.txn_id,
                "status": "paid",
                "amount_minor": p.paid_amount_minor,
                "currency": p.currency,
                "paid_at": datetime.fromtimestamp(p.paid_at, UTC).isoformat(),
            },
        )
        return p

    def refund(self, body: dict[str, Any]) -> SandboxRefund:
        no = str(body["out_refund_no"])
        if no in self.refunds:
            return self.refunds[no]
        p = self._payment(str(body["out_trade_no"]))
        amount = int(body["amount_minor"])
        if p.status != "paid":
            raise SandboxError(409, "not_refundable", f"payment is {p.status}")
        if amount <= 0 or p.refunded_minor + amount > p.paid_amount_minor:
            raise SandboxError(400, "invalid_amount", "refund exceeds what was paid")
        r = SandboxRefund(
            no, p.out_trade_no, amount, p.currency, str(body.get("reason", ""))[:80], at=self.now()
        )
        self.refunds[no] = r
        p.refunded_minor += amount
        self._notify(
            p.notify_url,
            {
                "kind": "refund",
                "out_trade_no": p.out_trade_no,
                "out_refund_no": no,
                "refund_id": r.refund_id,
                "txn_id": p.txn_id,
                "status": "succeeded",
                "amount_minor": amount,
                "currency": p.currency,
            },
        )
        return r

    def _payment(self, out_trade_no: str) -> SandboxPayment:
        p = self.payments.get(out_trade_no)
        if p is None:
            raise SandboxError(404, "not_found", f"no payment {out_trade_no}")
        return p

    def statement(self, day: date) -> bytes:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "time",
                "type",
                "out_trade_no",
                "txn_id",
                "out_refund_no",
                "amount_minor",
                "fee_minor",
                "currency",
            ]
        )
        rows: list[tuple[float, list[Any]]] = []
        for p in self.payments.values():
            if p.paid_at is not None and datetime.fromtimestamp(p.paid_at, UTC).date() == day:
                fee = p.paid_amount_minor * FEE_RATE_PPM // 1_000_000
                rows.append(
                    (
                        p.paid_at,
                        ["payment", p.out_trade_no, p.txn_id, "", p.paid_amount_minor, fee, p.currency],
                    )
                )
        for r in self.refunds.values():
            if datetime.fromtimestamp(r.at, UTC).date() == day:
                fee = -(r.amount_minor * FEE_RATE_PPM // 1_000_000)
                txn = self.payments[r.out_trade_no].txn_id
                rows.append(
                    (r.at, ["refund", r.out_trade_no, txn, r.out_refund_no, -r.amount_minor, fee, r.currency])
                )
        for at, row in sorted(rows, key=lambda x: x[0]):
            w.writerow([datetime.fromtimestamp(at, UTC).isoformat(), *row])
        return out.getvalue().encode()

    # --- notifications ----------------------------------------------------------------------------

    def _notify(self, url: str, resource: dict[str, Any]) -> None:
        self._sent += 1
        body = json.dumps({"id": uuid.uuid4().hex, "created_at": self.now(), "resource": resource}).encode()
        self.queue.append(Delivery(url, body, due=self.now()))
        if self.duplicate_every and self._sent % self.duplicate_every == 0:
            self.queue.append(Delivery(url, body, due=self.now() + 1, duplicate=True))

    async def deliver_due(self) -> int:
        """Send every notification that is due; failed ones are retried on the schedule. Returns sent."""
        now = self.now()
        due = [d for d in self.queue if d.due <= now]
        self.queue = [d for d in self.queue if d.due > now]
        for d in due:
            headers = {
                "Content-Type": "application/json",
                **notification_headers(self.notify_secret, d.body, now),
            }
            try:
                status = await self.sender(d.url, headers, d.body)
            except Exception:
                status = 0
            self.delivered.append((d.url, d.body, status))
            if not 200 <= status < 300 and not d.duplicate:
                d.attempt += 1
                if d.attempt < len(RETRY_SCHEDULE):
                    d.due = now + RETRY_SCHEDULE[d.attempt]
                    self.queue.append(d)
        return len(due)

    async def run_notifier(self, every: float = 1.0) -> None:
        while True:
            await self.deliver_due()
            await asyncio.sleep(every)


class SandboxError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _http_sender() -> Sender:
    client = httpx.AsyncClient(timeout=5)

    async def send(url: str, headers: dict[str, str], body: bytes) -> int:
        return (await client.post(url, content=body, headers=headers)).status_code

    return send
