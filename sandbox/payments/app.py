"""The sandbox bank's HTTP face: the merchant API (requests signed as ``commerce/payments/signing.py``
says), the buyer's payment page, and two test hooks (pay as a buyer would, deliver due notifications)."""

from __future__ import annotations

import html
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from commerce.payments.signing import MAX_SKEW_SECONDS, parse_authorization, sign
from sandbox.payments.bank import SandboxBank, SandboxError


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
