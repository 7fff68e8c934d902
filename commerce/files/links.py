"""Signed, expiring links to stored files: ``/files/{key}?exp=..&uid=..&sig=..``.

``sig`` is the hex HMAC-SHA256, under the links' secret, of the key, the user the link was issued to
and the expiry (unix seconds), each length-prefixed so no two triples sign alike. Changing any of
them (another file, another user's id, a later expiry) breaks the signature. Who may get a link is
the caller's decision (after-sales decides who sees a case's evidence); ``FileLinks.issue`` only
writes one for the user it is given.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from commerce.core.errors import LinkRefused

FILES_PATH = "/files"


class FileLinks:
    def __init__(self, secret: str, *, ttl: timedelta = timedelta(minutes=15)) -> None:
        if not secret:
            raise ValueError("a file link secret is needed")
        self._secret = secret.encode()
        self.ttl = ttl

    def sign(self, key: str, user_id: str, expires: int) -> str:
        """The signature of a link to ``key`` for ``user_id`` until ``expires`` (unix seconds)."""
        message = b"".join(
            len(part).to_bytes(4, "big") + part
            for part in (key.encode(), user_id.encode(), str(expires).encode())
        )
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue(self, key: str, user_id: str, now: datetime) -> str:
        """The link (a path with its query) for ``user_id`` to fetch ``key`` until ``now + ttl``."""
        expires = int((now + self.ttl).timestamp())
        query = urlencode({"exp": expires, "uid": user_id, "sig": self.sign(key, user_id, expires)})
        return f"{FILES_PATH}/{quote(key, safe='')}?{query}"

    def verify(
        self, key: str, user_id: str | None, expires: str | None, sig: str | None, now: datetime
    ) -> str:
        """The user the link was issued to, or LinkRefused: ``link_missing``, ``link_invalid`` or
        ``link_expired`` (checked after the signature, so an expiry cannot be probed by forging it)."""
        if not user_id or not expires or not sig:
            missing = [name for name, v in (("uid", user_id), ("exp", expires), ("sig", sig)) if not v]
            raise LinkRefused(
                "link_missing",
                "the link is not signed: it needs exp, uid and sig",
                details={"missing": missing},
            )
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            raise LinkRefused("link_invalid", "the link's expiry is not a time", details={"exp": expires})
        if not hmac.compare_digest(sig.encode(), self.sign(key, user_id, int(expires)).encode()):
            raise LinkRefused("link_invalid", "the link's signature does not match it")
        at = datetime.fromtimestamp(int(expires), UTC)
        if now >= at:
            raise LinkRefused(
                "link_expired",
                f"the link expired at {at.isoformat()}",
                details={"expired_at": at.isoformat()},
            )
        return user_id
