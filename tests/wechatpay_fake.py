"""A local stand-in for the WeChat Pay API v3 (we cannot reach the vendor from here): it checks every
request's Authorization the way the vendor documents it (WECHATPAY2-SHA256-RSA2048 over
METHOD, URL, timestamp, nonce and body, by the merchant key of the serial given) and answers like the
documented endpoints for Native payments, refunds, queries and the trade bill."""

from __future__ import annotations

import json
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from commerce.payments.wechatpay import SCHEME, rsa_verify


def fake_wechatpay(mchid: str, merchant_serial: str, merchant_public: RSAPublicKey) -> Starlette:
    payments: dict[str, dict[str, Any]] = {}
    refunds: dict[str, dict[str, Any]] = {}
    seen: list[str] = []

    async def check(request: Request) -> bytes | Response:
        body = await request.body()
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        fields = {k.strip(): v.strip('"') for k, v in fields.items()}
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if scheme != SCHEME or fields.get("mchid") != mchid or fields.get("serial_no") != merchant_serial:
            return JSONResponse({"code": "SIGN_ERROR", "message": "bad Authorization"}, status_code=401)
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return JSONResponse({"code": "SIGN_ERROR", "message": "stale timestamp"}, status_code=401)
        message = (
            f"{request.method}\n{url}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        )
        if not rsa_verify(merchant_public, message, fields.get("signature", "")):
            return JSONResponse(
                {"code": "SIGN_ERROR", "message": "signature does not verify"}, status_code=401
            )
        seen.append(f"{request.method} {url}")
        return body

    async def native(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        data = json.loads(body)
        if data.get("mchid") != mchid or not isinstance(data.get("amount", {}).get("total"), int):
            return JSONResponse({"code": "PARAM_ERROR", "message": "bad parameters"}, status_code=400)
        payments[data["out_trade_no"]] = {**data, "trade_state": "NOTPAY"}
        return JSONResponse({"code_url": f"weixin://wxpay/bizpayurl?pr={data['out_trade_no']}"})

    async def query(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        p = payments.get(request.path_params["no"])
        if p is None:
            return JSONResponse({"code": "ORDER_NOT_EXIST", "message": "no such order"}, status_code=404)
        return JSONResponse(
            {
                "out_trade_no": request.path_params["no"],
                "trade_state": p["trade_state"],
                "transaction_id": p.get("transaction_id"),
                "amount": {"total": p["amount"]["total"], "currency": "CNY"},
            }
        )

    async def refund(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        data = json.loads(body)
        r = refunds.setdefault(
            data["out_refund_no"],
            {
                "out_refund_no": data["out_refund_no"],
                "refund_id": "5030" + data["out_refund_no"],
                "status": "SUCCESS",
            },
        )
        return JSONResponse(r)

    async def refund_query(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        r = refunds.get(request.path_params["no"])
        return JSONResponse(r) if r else JSONResponse({"code": "RESOURCE_NOT_EXISTS"}, status_code=404)

    async def bill(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        day = request.query_params["bill_date"]
        return JSONResponse(
            {
                "hash_type": "SHA1",
                "hash_value": "x",
                "download_url": f"https://api.mch.weixin.qq.com/v3/billdownload/file?token={day}",
            }
        )

    async def download(request: Request) -> Response:
        body = await check(request)
        if isinstance(body, Response):
            return body
        header = (
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
            "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
            "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        )
        rows = [
            "`2026-11-25 12:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000848202101120290526543,`YC1,"
            "`oUpF8u,`NATIVE,`SUCCESS,`OTHERS,`CNY,`398.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Silk scarf,`,"
            "`2.39,`0.60%,`398.00,`0.00,`",
            "`2026-11-25 13:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000848202101120290526543,`YC1,"
            "`oUpF8u,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000000382019052709732678859,`YC1R1,"
            "`100.50,`0.00,`ORIGINAL,`SUCCESS,`Silk scarf,`,`-0.60,`0.60%,`0.00,`100.50,`",
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
            "`2,`398.00,`100.50,`0.00,`1.79,`398.00,`100.50",
        ]
        return PlainTextResponse("\n".join([header, *rows]) + "\n", media_type="text/csv")

    app = Starlette(
        routes=[
            Route("/v3/pay/transactions/native", native, methods=["POST"]),
            Route("/v3/pay/transactions/out-trade-no/{no}", query, methods=["GET"]),
            Route("/v3/refund/domestic/refunds", refund, methods=["POST"]),
            Route("/v3/refund/domestic/refunds/{no}", refund_query, methods=["GET"]),
            Route("/v3/bill/tradebill", bill, methods=["GET"]),
            Route("/v3/billdownload/file", download, methods=["GET"]),
        ]
    )
    app.state.payments, app.state.seen = payments, seen
    return app
