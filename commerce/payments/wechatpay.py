"""WeChat Pay API v3: notification verification and resource decryption, signed API calls.

Notifications (as the vendor documents them): headers ``Wechatpay-Timestamp``, ``Wechatpay-Nonce``,
``Wechatpay-Serial`` and ``Wechatpay-Signature``, the base64 RSA-SHA256 (PKCS#1 v1.5) signature of
``timestamp\\nnonce\\nbody\\n`` by the platform key named by the serial. The body's ``resource`` is
AEAD_AES_256_GCM-encrypted with the merchant's APIv3 key (the nonce and associated data are given; the
ciphertext is base64 of the encrypted bytes followed by the 16-byte tag).

Requests we send carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...,nonce_str=...,
signature=...,timestamp=...,serial_no=...``, the signature over ``METHOD\\nURL\\ntimestamp\\nnonce\\n
body\\n`` by the merchant's private key.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import secrets
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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

MAX_SKEW_SECONDS = 300
SCHEME = "WECHATPAY2-SHA256-RSA2048"


def rsa_sign(key: RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(
            base64.b64decode(signature_b64, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (CryptoInvalidSignature, ValueError):
        return False
    return True


def encrypt_resource(api_v3_key: str, plaintext: bytes, associated_data: str, nonce: str) -> str:
    """The provider's side of the resource encryption (used by the sandbox to sign like the vendor)."""
    return base64.b64encode(
        AESGCM(api_v3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    ).decode()


def decrypt_resource(api_v3_key: str, resource: Mapping[str, Any]) -> dict[str, Any]:
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise InvalidSignature(f"unsupported resource algorithm {resource.get('algorithm')!r}")
    try:
        plain = AESGCM(api_v3_key.encode()).decrypt(
            str(resource["nonce"]).encode(),
            base64.b64decode(str(resource["ciphertext"])),
            str(resource.get("associated_data", "")).encode(),
        )
        data = json.loads(plain)
    except (InvalidTag, KeyError, ValueError) as exc:
        raise InvalidSignature("the notification's resource does not decrypt with our APIv3 key") from exc
    if not isinstance(data, dict):
        raise InvalidSignature("the notification's resource is not an object")
    return data


def verify_notification(
    platform_keys: Mapping[str, RSAPublicKey], headers: Mapping[str, str], body: bytes, now: float
) -> None:
    h = {k.lower(): v for k, v in headers.items()}
    ts, nonce = h.get("wechatpay-timestamp"), h.get("wechatpay-nonce")
    serial, signature = h.get("wechatpay-serial"), h.get("wechatpay-signature")
    if not (ts and nonce and serial and signature):
        raise InvalidSignature("notification refused: missing Wechatpay-* signature headers")
    if not ts.isdigit() or abs(now - int(ts)) > MAX_SKEW_SECONDS:
        raise InvalidSignature("notification refused: timestamp too far from now")
    key = platform_keys.get(serial)
    if key is None:
        raise InvalidSignature(f"notification refused: unknown platform key serial {serial!r}")
    if not rsa_verify(key, f"{ts}\n{nonce}\n".encode() + body + b"\n", signature):
        raise InvalidSignature("notification refused: signature does not match")


def parse_notification(
    api_v3_key: str,
    platform_keys: Mapping[str, RSAPublicKey],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Notification:
    """Verify and decrypt a WeChat Pay v3 notification into our ``Notification``."""
    verify_notification(platform_keys, headers, body, now.timestamp())
    try:
        envelope = json.loads(body)
        event = str(envelope["event_type"])
        notice_id = str(envelope["id"])
        resource = envelope["resource"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature("notification refused: malformed body") from exc
    data = decrypt_resource(api_v3_key, resource)
    amount = data.get("amount") or {}
    try:
        if event.startswith("TRANSACTION."):
            return Notification(
                notice_id=notice_id,
                kind="payment",
                out_trade_no=str(data["out_trade_no"]),
                status="paid"
                if data.get("trade_state") == "SUCCESS"
                else str(data.get("trade_state", "")).lower(),
                amount_minor=int(amount["total"]),
                currency=str(amount.get("currency", "CNY")),
                provider_txn_id=data.get("transaction_id"),
                at=datetime.fromisoformat(data["success_time"]) if data.get("success_time") else None,
                raw=data,
            )
        if event.startswith("REFUND."):
            return Notification(
                notice_id=notice_id,
                kind="refund",
                out_trade_no=str(data["out_trade_no"]),
                status="succeeded" if data.get("refund_status") == "SUCCESS" else "failed",
                amount_minor=int(amount["refund"]),
                currency=str(amount.get("currency", "CNY")),
                provider_txn_id=data.get("transaction_id"),
                out_refund_no=str(data["out_refund_no"]),
                raw=data,
            )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidSignature("notification refused: the resource lacks required fields") from exc
    raise InvalidSignature(f"notification refused: unknown event type {event!r}")


class WeChatPayProvider:
    """WeChat Pay API v3 (Native payments): signed requests, verified and decrypted notifications."""

    name = "wechatpay"

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_serial: str,
        merchant_key: RSAPrivateKey,
        api_v3_key: str,
        platform_keys: Mapping[str, RSAPublicKey],
        base_url: str = "https://api.mch.weixin.qq.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if len(api_v3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self._mchid, self._appid, self._serial, self._key = mchid, appid, merchant_serial, merchant_key
        self._api_v3_key, self._platform_keys = api_v3_key, dict(platform_keys)
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10)

    def authorization(self, method: str, url: str, body: bytes) -> str:
        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = rsa_sign(self._key, f"{method}\n{url}\n{ts}\n{nonce}\n{body.decode()}\n")
        return (
            f'{SCHEME} mchid="{self._mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{ts}",serial_no="{self._serial}"'
        )

    async def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await signed_call(self._http, method, url, body, self.authorization)

    async def create(self, request: PayRequest) -> PayInstructions:
        r = await self._call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self._appid,
                "mchid": self._mchid,
                "description": request.description[:127],
                "out_trade_no": request.out_trade_no,
                "time_expire": request.expires_at.isoformat(timespec="seconds"),
                "notify_url": request.notify_url,
                "amount": {"total": request.amount_minor, "currency": request.currency},
            },
        )
        return PayInstructions(None, {"code_url": r.json()["code_url"]})

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        return parse_notification(self._api_v3_key, self._platform_keys, headers, body, now)

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
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "reason": reason[:80],
                "amount": {"refund": amount_minor, "total": total_minor, "currency": currency},
            },
        )
        return _refund_answer(r.json())

    async def query_payment(self, out_trade_no: str) -> PaymentState:
        data = (
            await self._call("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self._mchid}")
        ).json()
        state = {"SUCCESS": "paid", "NOTPAY": "created", "CLOSED": "closed", "REFUND": "refunded"}.get(
            data["trade_state"], data["trade_state"].lower()
        )
        amount = data.get("amount") or {}
        return PaymentState(
            out_trade_no,
            state,
            int(amount.get("total", 0)),
            str(amount.get("currency", "CNY")),
            data.get("transaction_id"),
        )

    async def query_refund(self, out_refund_no: str) -> RefundAnswer:
        return _refund_answer(
            (await self._call("GET", f"/v3/refund/domestic/refunds/{out_refund_no}")).json()
        )

    async def statement(self, day: date) -> bytes:
        bill = (
            await self._call("GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL")
        ).json()
        url = httpx.URL(bill["download_url"])
        return (await self._call("GET", url.raw_path.decode())).content

    def parse_statement(self, raw: bytes) -> list[StatementLine]:
        """The documented trade bill: a header row, one row per trade with every field prefixed by a
        backtick and amounts in yuan, then a summary (from the row starting with 总交易单数)."""
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        if not rows:
            return []
        header = [h.strip() for h in rows[0]]
        col = {name: i for i, name in enumerate(header)}
        out: list[StatementLine] = []
        for row in rows[1:]:
            if not row or row[0].startswith("总交易单数"):
                break
            get = {name: row[i].lstrip("`").strip() for name, i in col.items() if i < len(row)}
            state = get.get("交易状态", "")
            currency = "CNY" if get.get("货币种类", "CNY") in ("CNY", "") else get["货币种类"]
            fee = _minor(get.get("手续费", "0"))
            if state == "SUCCESS":
                out.append(
                    StatementLine(
                        "payment", get["商户订单号"], None, _minor(get["应结订单金额"]), fee, currency
                    )
                )
            elif state == "REFUND":
                out.append(
                    StatementLine(
                        "refund",
                        get["商户订单号"],
                        get.get("商户退款单号") or None,
                        _minor(get["退款金额"]),
                        fee,
                        currency,
                    )
                )
        return out

    async def close(self) -> None:
        await self._http.aclose()


def _minor(yuan: str) -> int:
    """'12.34' yuan -> 1234 fen, exactly (never through a float)."""
    return int((Decimal(yuan or "0") * 100).to_integral_value())


def _refund_answer(data: Mapping[str, Any]) -> RefundAnswer:
    status = {"SUCCESS": "succeeded", "PROCESSING": "pending"}.get(str(data.get("status")), "failed")
    return RefundAnswer(str(data["out_refund_no"]), status, data.get("refund_id"))  # type: ignore[arg-type]
