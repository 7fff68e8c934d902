"""Bearer tokens: JWT with a pinned algorithm, required expiry, issuer and audience."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from commerce.core.errors import InvalidInput, Unauthenticated
from commerce.core.identity import Principal, Role
from live.settings import Settings

MAX_SUBJECT = 64
CACHE_SIZE = 20_000


class _KeptHMAC(HMACAlgorithm):
    """PyJWT vets an HMAC key on every call (is it PEM, SSH, DER, a JWK?); its DER check alone parses the
    key twice with cryptography, which cost a flash sale's buyers about a tenth of their CPU. The result
    depends on the key alone, so it is kept for the few keys a process uses."""

    def __init__(self, hash_alg: Any) -> None:
        super().__init__(hash_alg)
        self._kept: dict[bytes, bytes] = {}

    def prepare_key(self, key: str | bytes) -> bytes:
        raw = key.encode() if isinstance(key, str) else key
        prepared = self._kept.get(raw)
        if prepared is None:
            prepared = super().prepare_key(key)  # refuses asymmetric keys; a refusal is never kept
            if len(self._kept) < 16:
                self._kept[raw] = prepared
        return prepared


for _name, _hash in (
    ("HS256", HMACAlgorithm.SHA256),
    ("HS384", HMACAlgorithm.SHA384),
    ("HS512", HMACAlgorithm.SHA512),
):
    jwt.unregister_algorithm(_name)
    jwt.register_algorithm(_name, _KeptHMAC(_hash))


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._alg = settings.jwt_algorithm
        self._verify_key: Any = settings.verification_key
        self._settings = settings
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        # tokens verified before, with their expiry: the same bytes carry the same signature, so only the
        # expiry needs checking again (a buyer in a flash sale presents one token many times a second)
        self._verified: dict[str, tuple[Principal, float]] = {}

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
        known = self._verified.get(token)
        if known is not None:
            if not self._expired(known[1]):
                return known[0]
            del self._verified[token]
        principal, expires = self._decode(token)
        if self._expired(expires):
            raise Unauthenticated("token expired", details={"reason": "expired"})
        if len(self._verified) >= CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self._alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                # expiry is checked by verify(), the same way for remembered tokens
                options={"require": ["exp", "sub", "iat"], "verify_exp": False},
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
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise Unauthenticated("invalid exp claim", details={"reason": "invalid"})
        return Principal(user_id=sub, roles=roles, name=str(name)[:64]), float(exp)

    def _expired(self, exp: float) -> bool:
        return time.time() >= exp + self._leeway

    def from_authorization(self, header: str | None) -> Principal | None:
        """Parse an ``Authorization`` header; None for a guest (no header)."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", details={"reason": "invalid"})
        return self.verify(token.strip())
