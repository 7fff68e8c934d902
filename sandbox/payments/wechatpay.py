"""WeChat Pay's side of a notification, signed and encrypted the way its API v3 documents it, for
rehearsing our verification (``commerce/payments/wechatpay.py``) without reaching the vendor."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from commerce.payments.wechatpay import encrypt_resource, rsa_sign


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
