"""Bearer tokens: JWT with a pinned algorithm, required expiry, issuer and audience."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from typing import Any

import jwt

from commerce.core.errors import InvalidInput, Unauthenticated
from commerce.core.identity import Principal, Role
from live.settings import Settings

MAX_SUBJECT = 64


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._alg = settings.jwt_algorithm
        self._verify_key: Any = settings.verification_key
        if self._alg.startswith(
            "HS"
        ):  # prepared once, not on every request (PyJWT prepares str keys per call)
            secret = self._verify_key.encode() if isinstance(self._verify_key, str) else self._verify_key
            k = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
            self._verify_key = jwt.PyJWK({"kty": "oct", "k": k}, algorithm=self._alg)
        self._settings = settings
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds

    def issue(
        self, user_id: str, roles: Iterable[Role], *, name: str = "", ttl_seconds: int | None = None
    ) -> str:
        if not user_id or len(user_id) > MAX_SUBJECT:
            raise InvalidInput("user id must be 1-64 characters")
        now = int(time.time())
        claims = {
            "sub": user_id,
            "roles": sorted(r.value for r in roles),
            "name": name,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + (ttl_seconds or self._settings.jwt_default_ttl_seconds),
        }
        return jwt.encode(claims, self._settings.signing_key, algorithm=self._alg)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self._alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", details={"reason": "expired"}) from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}", details={"reason": "invalid"}) from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= MAX_SUBJECT:
            raise Unauthenticated("invalid token subject", details={"reason": "invalid"})
        raw_roles = claims.get("roles", [])
        if not isinstance(raw_roles, list):
            raise Unauthenticated("invalid roles claim", details={"reason": "invalid"})
        roles = frozenset(Role(r) for r in raw_roles if isinstance(r, str) and r in Role._value2member_map_)
        name = claims.get("name") if isinstance(claims.get("name"), str) else ""
        return Principal(user_id=sub, roles=roles, name=str(name)[:64])

    def from_authorization(self, header: str | None) -> Principal | None:
        """Parse an ``Authorization`` header; None for a guest (no header)."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", details={"reason": "invalid"})
        return self.verify(token.strip())
