"""Our own signed, expiring push keys (self-hosted providers: nginx-rtmp and the WebRTC relay).

A key is ``{expiry unix seconds}-{hex HMAC-SHA256(secret, "{stream}:{expiry}")}``: it names no stream itself,
so a key for one stream does not admit another.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from media.provider import StreamKeyRefused


class StreamKeys:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a stream key secret is needed")
        self._secret = secret.encode()

    def _mac(self, stream: str, expiry: int) -> str:
        return hmac.new(self._secret, f"{stream}:{expiry}".encode(), hashlib.sha256).hexdigest()

    def sign(self, stream: str, expires_at: datetime) -> str:
        expiry = int(expires_at.timestamp())
        return f"{expiry}-{self._mac(stream, expiry)}"

    def verify(self, stream: str, key: str | None, now: datetime) -> datetime:
        """The key's expiry, or StreamKeyRefused (``missing``, ``invalid`` or ``expired``)."""
        if not key:
            raise StreamKeyRefused("missing", f"no push key for stream {stream}")
        expiry_text, _, mac = key.partition("-")
        if not expiry_text.isdigit() or len(expiry_text) > 12 or not mac:
            raise StreamKeyRefused("invalid", f"malformed push key for stream {stream}")
        expiry = int(expiry_text)
        if not hmac.compare_digest(mac, self._mac(stream, expiry)):
            raise StreamKeyRefused("invalid", f"push key does not match stream {stream}")
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if now >= expires_at:
            raise StreamKeyRefused("expired", f"push key for {stream} expired at {expires_at.isoformat()}")
        return expires_at
