"""WeChat Pay API v3: notifications signed and encrypted the way the vendor documents (by the sandbox)
are verified and decrypted; tampering is refused; API calls are signed the documented way (checked by a
local stand-in of the vendor's API)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from commerce.core.identity import Role
from commerce.payments.provider import InvalidSignature, PayRequest, ProviderError
from commerce.payments.wechatpay import WeChatPayProvider
from sandbox.payments.wechatpay import sign_wechatpay_notification
from tests.e2e.buying import _buy, _sale
from tests.e2e.world import ok
from tests.support import Client
from tests.wechatpay_fake import fake_wechatpay

API_V3_KEY = "0123456789abcdef0123456789abcdef"
PLATFORM = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MERCHANT = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000000000"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def provider(key: rsa.RSAPrivateKey = MERCHANT) -> WeChatPayProvider:
    app = fake_wechatpay("1900000109", MERCHANT_SERIAL, MERCHANT.public_key())
    return WeChatPayProvider(
        mchid="1900000109",
        appid="wxd678efh567hg6787",
        merchant_serial=MERCHANT_SERIAL,
        merchant_key=key,
        api_v3_key=API_V3_KEY,
        platform_keys={PLATFORM_SERIAL: PLATFORM.public_key()},
        base_url="https://api.mch.weixin.qq.com",
        transport=httpx.ASGITransport(app=app),
    )


def transaction(out_trade_no: str, total: int, state: str = "SUCCESS") -> dict[str, Any]:
    return {
        "mchid": "1900000109",
        "appid": "wxd678efh567hg6787",
        "out_trade_no": out_trade_no,
        "transaction_id": "4200000848202101120290526543",
        "trade_type": "NATIVE",
        "trade_state": state,
        "success_time": "2026-11-25T10:43:43+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
    }


def signed(
    data: dict[str, Any], event: str = "TRANSACTION.SUCCESS", **kw: Any
) -> tuple[dict[str, str], bytes]:
    kind = "transaction" if event.startswith("TRANSACTION") else "refund"
    args: dict[str, Any] = {"api_v3_key": API_V3_KEY, "platform_key": PLATFORM, "serial": PLATFORM_SERIAL}
    args.update(kw)
    return sign_wechatpay_notification(event, kind, data, **args)


def test_a_vendor_signed_notification_verifies_and_decrypts() -> None:
    p = provider()
    headers, body = signed(transaction("YC1T1", 39800))
    n = p.parse_notification(headers, body, datetime.now(UTC))
    assert (n.kind, n.out_trade_no, n.status, n.amount_minor, n.currency) == (
        "payment",
        "YC1T1",
        "paid",
        39800,
        "CNY",
    )
    assert n.provider_txn_id == "4200000848202101120290526543"
    refund = {
        "mchid": "1900000109",
        "out_trade_no": "YC1T1",
        "transaction_id": "4200000848202101120290526543",
        "out_refund_no": "YC1T1R1",
        "refund_id": "50000000382019052709732678859",
        "refund_status": "SUCCESS",
        "amount": {"total": 39800, "refund": 39800, "payer_total": 39800, "payer_refund": 39800},
    }
    headers, body = signed(refund, "REFUND.SUCCESS")
    r = p.parse_notification(headers, body, datetime.now(UTC))
    assert (r.kind, r.out_refund_no, r.status, r.amount_minor) == ("refund", "YC1T1R1", "succeeded", 39800)


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "serial", "stale", "api_key", "signer", "headers"],
)
def test_tampered_notifications_are_refused(tamper: str) -> None:
    p = provider()
    now = datetime.now(UTC)
    kw: dict[str, Any] = {}
    if tamper == "stale":
        kw["now"] = (now - timedelta(minutes=10)).timestamp()
    if tamper == "api_key":
        kw["api_v3_key"] = "ffffffffffffffffffffffffffffffff"
    if tamper == "signer":
        kw["platform_key"] = MERCHANT  # signed by someone else's key
    headers, body = signed(transaction("YC1T1", 39800), **kw)
    if tamper == "body":
        body = body.replace(b'"summary":"sandbox"', b'"summary":"paid!!"')
    if tamper == "signature":
        headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][::-1]
    if tamper == "serial":
        headers["Wechatpay-Serial"] = "PUB_KEY_ID_OTHER"
    if tamper == "headers":
        del headers["Wechatpay-Nonce"]
    with pytest.raises(InvalidSignature):
        p.parse_notification(headers, body, now)


async def test_api_calls_are_signed_as_documented() -> None:
    p = provider()
    expires = datetime.now(UTC) + timedelta(minutes=15)
    pay = await p.create(
        PayRequest("YC9T1", 100, "CNY", "Silk scarf", "https://shop.example/notify", expires)
    )
    assert pay.client_params["code_url"].startswith("weixin://wxpay/bizpayurl")
    state = await p.query_payment("YC9T1")
    assert (state.status, state.amount_minor) == ("created", 100)
    answer = await p.refund("YC9T1", "YC9T1R1", 100, 100, "CNY", "test")
    assert answer.status == "succeeded" and (await p.query_refund("YC9T1R1")).status == "succeeded"
    lines = p.parse_statement(await p.statement(date(2026, 11, 25)))
    assert [(x.kind, x.out_trade_no, x.out_refund_no, x.amount_minor, x.fee_minor) for x in lines] == [
        ("payment", "YC1", None, 39800, 239),
        ("refund", "YC1", "YC1R1", 10050, -60),
    ]
    impostor = provider(key=PLATFORM)  # signs with a key the vendor does not know for this serial
    with pytest.raises(ProviderError) as refused:
        await impostor.create(PayRequest("YC9T2", 100, "CNY", "x", "https://shop.example/notify", expires))
    assert refused.value.status == 401
    await p.close()
    await impostor.close()


async def test_our_webhook_applies_wechatpay_notifications_once(shop: Client) -> None:
    c = shop
    wx = provider()
    await c.services.payments.provider.close()
    c.services.payments.provider = wx
    _w, rid, lid, sku = await _sale(c, stock=3, limit=None)
    order = await ok(await _buy(c, rid, lid, "u1", "k1", sku), 201)
    checkout = await ok(
        await c.call(
            "POST",
            f"/orders/{order['id']}/pay",
            ("u1", Role.VIEWER),
        )
    )
    assert checkout["provider"] == "wechatpay" and checkout["client_params"]["code_url"].startswith(
        "weixin://"
    )
    headers, body = signed(
        transaction(checkout["out_trade_no"], order["total_minor"]), now=c.services.clock().timestamp()
    )
    first = await ok(await c.http.post("/payments/notify/wechatpay", content=body, headers=headers))
    again = await ok(await c.http.post("/payments/notify/wechatpay", content=body, headers=headers))
    assert (first["outcome"], again["outcome"]) == ("applied", "duplicate")
    bad_headers, bad_body = signed(
        transaction(checkout["out_trade_no"], 1), platform_key=MERCHANT, now=c.services.clock().timestamp()
    )
    r = await c.http.post("/payments/notify/wechatpay", content=bad_body, headers=bad_headers)
    assert r.status_code == 401
    assert (await c.http.post("/payments/notify/sandbox", content=body, headers=headers)).status_code == 404
