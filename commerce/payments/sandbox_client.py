"""Our client of the sandbox payment provider (``sandbox/payments``, the bank): signed API calls over
HTTP, verified notifications."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import httpx

from commerce.payments.provider import (
    InvalidSignature,
    Notification,
    PayInstructions,
    PaymentState,
    PayRequest,
    RefundAnswer,
    StatementLine,
    signed_call,
)
from commerce.payments.signing import request_authorization, verify_notification


class SandboxProvider:
    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        *,
        merchant: str,
        api_key: str,
        notify_secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._merchant, self._key, self._secret = merchant, api_key, notify_secret
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await signed_call(
            self._http,
            method,
            path,
            body,
            lambda m, u, raw: request_authorization(self._merchant, self._key, m, u, raw),
        )

    async def create(self, request: PayRequest) -> PayInstructions:
        r = await self._call(
            "POST",
            "/v1/payments",
            {
                "out_trade_no": request.out_trade_no,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
                "description": request.description,
                "notify_url": request.notify_url,
                "expires_at": request.expires_at.isoformat(),
            },
        )
        data = r.json()
        return PayInstructions(data["pay_url"], {"prepay_id": data["prepay_id"]})

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        problem = verify_notification(self._secret, headers, body, now.timestamp())
        if problem:
            raise InvalidSignature(f"notification refused: {problem}")
        try:
            envelope = json.loads(body)
            res = envelope["resource"]
            kind = res["kind"]
            if kind not in ("payment", "refund"):
                raise ValueError(kind)
            return Notification(
                notice_id=str(envelope["id"]),
                kind=kind,
                out_trade_no=str(res["out_trade_no"]),
                status=str(res["status"]),
                amount_minor=int(res["amount_minor"]),
                currency=str(res["currency"]),
                provider_txn_id=res.get("txn_id"),
                out_refund_no=res.get("out_refund_no"),
                at=datetime.fromisoformat(res["paid_at"]) if res.get("paid_at") else None,
                raw=res,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature(f"notification refused: malformed body ({exc})") from exc

    async def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        amount_minor: int,
        total_minor: int,
        currency: str,
        reason: str,
    ) -> RefundAnswer:
        r = await self._call(
            "POST",
            "/v1/refunds",
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "amount_minor": amount_minor,
                "total_minor": total_minor,
                "currency": currency,
                "reason": reason,
            },
        )
        data = r.json()
        return RefundAnswer(data["out_refund_no"], data["status"], data.get("refund_id"))

    async def query_payment(self, out_trade_no: str) -> PaymentState:
        data = (await self._call("GET", f"/v1/payments/{out_trade_no}")).json()
        return PaymentState(
            data["out_trade_no"], data["status"], data["amount_minor"], data["currency"], data["txn_id"]
        )

    async def query_refund(self, out_refund_no: str) -> RefundAnswer:
        data = (await self._call("GET", f"/v1/refunds/{out_refund_no}")).json()
        return RefundAnswer(data["out_refund_no"], data["status"], data.get("refund_id"))

    async def statement(self, day: date) -> bytes:
        return (await self._call("GET", f"/v1/statements/{day.isoformat()}")).content

    def parse_statement(self, raw: bytes) -> list[StatementLine]:
        lines = []
        for row in csv.DictReader(io.StringIO(raw.decode())):
            kind = row["type"]
            if kind not in ("payment", "refund"):
                continue
            lines.append(
                StatementLine(
                    kind="payment" if kind == "payment" else "refund",
                    out_trade_no=row["out_trade_no"],
                    out_refund_no=row["out_refund_no"] or None,
                    amount_minor=abs(int(row["amount_minor"])),
                    fee_minor=int(row["fee_minor"]),
                    currency=row["currency"],
                )
            )
        return lines

    async def test_pay(self, out_trade_no: str, amount_minor: int | None = None) -> None:
        """Sandbox only: pay as the buyer would (optionally another amount)."""
        body: dict[str, Any] = {"out_trade_no": out_trade_no}
        if amount_minor is not None:
            body["amount_minor"] = amount_minor
        await self._call("POST", "/v1/test/pay", body)

    async def close(self) -> None:
        await self._http.aclose()
