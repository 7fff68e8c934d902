"""The sandbox provider's signatures: HMAC-SHA256 over timestamp, nonce and body (both directions)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

MAX_SKEW_SECONDS = 300


def sign(secret: str, *parts: str | bytes) -> str:
    message = b"".join((p.encode() if isinstance(p, str) else p) + b"\n" for p in parts)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def notification_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    ts = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    return {
        "Sandbox-Timestamp": ts,
        "Sandbox-Nonce": nonce,
        "Sandbox-Signature": sign(secret, ts, nonce, body),
    }


def verify_notification(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """None if the notification verifies; otherwise what is wrong."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts, nonce, signature = (
        lower.get("sandbox-timestamp"),
        lower.get("sandbox-nonce"),
        lower.get("sandbox-signature"),
    )
    if not (ts and nonce and signature):
        return "missing signature headers"
    if not ts.isdigit() or abs(now - int(ts)) > MAX_SKEW_SECONDS:
        return "timestamp too far from now (replayed or clock skew)"
    if not hmac.compare_digest(sign(secret, ts, nonce, body), signature):
        return "signature does not match"
    return None


def request_authorization(merchant: str, key: str, method: str, path: str, body: bytes) -> str:
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    sig = sign(key, method.upper(), path, ts, nonce, body)
    return f'Sandbox mchid="{merchant}",timestamp="{ts}",nonce="{nonce}",signature="{sig}"'


def parse_authorization(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.partition(" ")
    if scheme != "Sandbox":
        return None
    out: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        out[name] = value.strip('"')
    return out if {"mchid", "timestamp", "nonce", "signature"} <= set(out) else None
