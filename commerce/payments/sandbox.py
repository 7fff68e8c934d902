"""A sandbox payment provider that behaves like a licensed one, for development and tests.

It is a separate HTTP service (``python -m commerce.payments.sandbox``), or the same app served
in-process (the default). It keeps its own ledger of payments and refunds, has a payment page a person
can click through, signs its asynchronous notifications (HMAC-SHA256, see ``signing.py``), delivers
them to the merchant's ``notify_url`` with retries on a schedule like the big providers' (and sends
some twice, as they do), and writes a daily statement (payments, refunds, fees).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import io
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from commerce.payments.signing import MAX_SKEW_SECONDS, notification_headers, parse_authorization, sign

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


def create_app(bank: SandboxBank) -> Starlette:
    """The sandbox's HTTP face: the merchant API (signed requests) and the buyer's payment page."""

    async def authorized(request: Request) -> bytes:
        body = await request.body()
        auth = parse_authorization(request.headers.get("authorization", ""))
        if auth is None or auth["mchid"] != bank.merchant:
            raise SandboxError(401, "unauthorized", "missing or malformed Authorization")
        if not auth["timestamp"].isdigit() or abs(time.time() - int(auth["timestamp"])) > MAX_SKEW_SECONDS:
            raise SandboxError(401, "unauthorized", "stale request")
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        expected = sign(bank.api_key, request.method, path, auth["timestamp"], auth["nonce"], body)
        if not secrets.compare_digest(expected, auth["signature"]):
            raise SandboxError(401, "unauthorized", "signature does not match")
        return body

    def handle(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                return await fn(request)
            except SandboxError as e:
                return JSONResponse({"code": e.code, "message": e.message}, status_code=e.status)
            except (KeyError, ValueError, TypeError) as e:
                return JSONResponse({"code": "bad_request", "message": str(e)}, status_code=400)

        return wrapped

    @handle
    async def create_payment(request: Request) -> Response:
        return JSONResponse(bank.create(json.loads(await authorized(request))), status_code=201)

    @handle
    async def get_payment(request: Request) -> Response:
        await authorized(request)
        p = bank._payment(request.path_params["no"])
        status = (
            "refunded" if p.status == "paid" and p.refunded_minor >= p.paid_amount_minor > 0 else p.status
        )
        return JSONResponse(
            {
                "out_trade_no": p.out_trade_no,
                "status": status,
                "amount_minor": p.paid_amount_minor or p.amount_minor,
                "currency": p.currency,
                "txn_id": p.txn_id if p.status == "paid" else None,
            }
        )

    @handle
    async def create_refund(request: Request) -> Response:
        r = bank.refund(json.loads(await authorized(request)))
        return JSONResponse({"out_refund_no": r.out_refund_no, "refund_id": r.refund_id, "status": r.status})

    @handle
    async def get_refund(request: Request) -> Response:
        await authorized(request)
        r = bank.refunds.get(request.path_params["no"])
        if r is None:
            raise SandboxError(404, "not_found", "no such refund")
        return JSONResponse({"out_refund_no": r.out_refund_no, "refund_id": r.refund_id, "status": r.status})

    @handle
    async def statement(request: Request) -> Response:
        await authorized(request)
        day = date.fromisoformat(request.path_params["day"])
        return PlainTextResponse(bank.statement(day).decode(), media_type="text/csv")

    @handle
    async def page(request: Request) -> Response:
        p = bank._payment(request.path_params["no"])
        amount = f"{p.amount_minor / 100:.2f} {html.escape(p.currency)}"
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Sandbox checkout</title>"
            f"<h1>Pay {amount}</h1><p>{html.escape(p.description)}</p><p>Status: {html.escape(p.status)}</p>"
            # relative, so the page works wherever the sandbox is mounted (/sandbox in-process)
            f'<form method=post action="{html.escape(p.out_trade_no)}/confirm">'
            "<button>Pay now</button></form>"
        )

    @handle
    async def confirm(request: Request) -> Response:
        bank.pay(request.path_params["no"])
        return RedirectResponse(str(request.url).removesuffix("/confirm"), status_code=303)

    @handle
    async def test_pay(request: Request) -> Response:
        """Pay as a buyer would, optionally with another amount (to rehearse a mismatch)."""
        body = json.loads(await authorized(request))
        p = bank.pay(str(body["out_trade_no"]), body.get("amount_minor"))
        return JSONResponse({"out_trade_no": p.out_trade_no, "status": p.status})

    @handle
    async def deliver(request: Request) -> Response:
        await authorized(request)
        return JSONResponse({"sent": await bank.deliver_due()})

    return Starlette(
        routes=[
            Route("/v1/payments", create_payment, methods=["POST"]),
            Route("/v1/payments/{no}", get_payment, methods=["GET"]),
            Route("/v1/refunds", create_refund, methods=["POST"]),
            Route("/v1/refunds/{no}", get_refund, methods=["GET"]),
            Route("/v1/statements/{day}", statement, methods=["GET"]),
            Route("/v1/test/pay", test_pay, methods=["POST"]),
            Route("/v1/test/deliver", deliver, methods=["POST"]),
            Route("/pay/{no}", page, methods=["GET"]),
            Route("/pay/{no}/confirm", confirm, methods=["POST"]),
        ]
    )


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description="Run the sandbox payment provider as its own HTTP service.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8700)
    ap.add_argument("--merchant", default="sandbox-merchant")
    ap.add_argument("--api-key", default="sandbox-api-key")
    ap.add_argument("--notify-secret", default="sandbox-notify-secret")
    args = ap.parse_args()
    bank = SandboxBank(
        merchant=args.merchant,
        api_key=args.api_key,
        notify_secret=args.notify_secret,
        public_url=f"http://{args.host}:{args.port}",
    )
    app = create_app(bank)

    async def serve() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_config=None))
        notifier = asyncio.create_task(bank.run_notifier())
        try:
            await server.serve()
        finally:
            notifier.cancel()

    asyncio.run(serve())


if __name__ == "__main__":
    main()


def sign_wechatpay_notification(
    event_type: str,
    original_type: str,
    data: dict[str, Any],
    *,
    api_v3_key: str,
    platform_key: Any,
    serial: str,
    now: float | None = None,
) -> tuple[dict[str, str], bytes]:
    """A notification signed and encrypted the way WeChat Pay API v3 documents it (see wechatpay.py):
    for rehearsing that provider's verification without reaching it."""
    from commerce.payments.wechatpay import encrypt_resource, rsa_sign

    nonce = secrets.token_hex(6)  # 12 characters: the AES-GCM nonce
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": datetime.now(UTC).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "sandbox",
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": encrypt_resource(api_v3_key, json.dumps(data).encode(), original_type, nonce),
                "associated_data": original_type,
                "nonce": nonce,
            },
        },
        separators=(",", ":"),
    ).encode()
    ts = str(int(now if now is not None else time.time()))
    sig_nonce = secrets.token_hex(16)
    signature = rsa_sign(platform_key, f"{ts}\n{sig_nonce}\n{body.decode()}\n")
    headers = {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": sig_nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": signature,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }
    return headers, body
