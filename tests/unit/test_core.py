"""Unit tests of the pure building blocks: money, state machines, tokens, settings, URL handling."""

from __future__ import annotations

import time
from enum import StrEnum

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.core.database import normalize_url
from commerce.core.errors import InvalidInput, InvalidTransition, Unauthenticated
from commerce.core.identity import Principal, Role
from commerce.core.money import Money
from commerce.core.transitions import StateMachine
from live.auth import TokenService
from live.cart.transitions import LISTING
from live.rooms.transitions import FINAL, ROOM
from live.settings import Settings
from tests.support import TEST_SECRET


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


LIGHTS = StateMachine[Light](
    "light",
    {
        Light.RED: frozenset({Light.GREEN}),
        Light.GREEN: frozenset({Light.AMBER}),
        Light.AMBER: frozenset({Light.RED}),
    },
)


def test_state_machine_names_allowed_moves() -> None:
    LIGHTS.check(Light.RED, Light.GREEN)
    with pytest.raises(InvalidTransition) as err:
        LIGHTS.check(Light.RED, Light.AMBER)
    assert err.value.allowed == ["green"]
    assert err.value.details == {"entity": "light", "from": "red", "to": "amber", "allowed": ["green"]}


def test_state_machine_accepts_plain_strings_from_the_database() -> None:
    with pytest.raises(InvalidTransition) as err:
        LIGHTS.check("green", Light.RED)  # type: ignore[arg-type]
    assert err.value.allowed == ["amber"]


def test_room_and_listing_tables() -> None:
    assert {"ended", "force_ended", "cancelled"} == FINAL
    assert ROOM.allowed("live") == {"ended", "force_ended"}  # type: ignore[arg-type]
    assert all(not LISTING.is_final(s) for s in LISTING.table)  # a listing can always be switched back


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["CNY", "USD", "JPY"]))
def test_money_accepts_integer_minor_units(amount: int, currency: str) -> None:
    m = Money(amount, currency)
    assert str(m).endswith(currency)


@pytest.mark.parametrize("amount", [-1, 10**12 + 1, 1.5, True])
def test_money_refuses_bad_amounts(amount: object) -> None:
    with pytest.raises(InvalidInput):
        Money(amount, "CNY")  # type: ignore[arg-type]


def test_money_refuses_unknown_currency() -> None:
    with pytest.raises(InvalidInput):
        Money(100, "XXX")
    assert str(Money(12345, "CNY")) == "123.45 CNY"
    assert str(Money(500, "JPY")) == "500 JPY"


def test_database_urls_map_to_async_drivers() -> None:
    assert normalize_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_url("postgresql://h/db") == "postgresql+asyncpg://h/db"
    assert normalize_url("postgres://h/db") == "postgresql+asyncpg://h/db"
    with pytest.raises(ValueError, match="unsupported"):
        normalize_url("mysql://h/db")


def _tokens(**kw: object) -> TokenService:
    return TokenService(Settings(jwt_secret=TEST_SECRET, **kw))  # type: ignore[arg-type]


def test_token_round_trip() -> None:
    svc = _tokens()
    p = svc.verify(svc.issue("u1", [Role.STREAMER, Role.VIEWER], name="Ann"))
    assert p.user_id == "u1" and p.roles == {Role.STREAMER, Role.VIEWER} and p.name == "Ann"


def test_token_expired_and_tampered() -> None:
    svc = _tokens(jwt_leeway_seconds=0)
    old = jwt.encode(
        {
            "sub": "u",
            "roles": [],
            "iss": "yellowcart",
            "aud": "yellowcart",
            "iat": int(time.time()) - 100,
            "exp": int(time.time()) - 10,
        },
        TEST_SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated) as err:
        svc.verify(old)
    assert err.value.details["reason"] == "expired"
    good = svc.issue("u", [Role.VIEWER])
    with pytest.raises(Unauthenticated):
        svc.verify(good[:-2] + ("AA" if not good.endswith("AA") else "BB"))


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = _tokens(jwt_leeway_seconds=5)
    token = svc.issue("u", [Role.VIEWER], ttl_seconds=60)
    assert svc.verify(token).user_id == "u"
    calls: list[str] = []
    decode = svc._decode

    def counted(t: str) -> tuple[Principal, float]:
        calls.append(t)
        return decode(t)

    monkeypatch.setattr(svc, "_decode", counted)
    assert svc.verify(token).user_id == "u"
    assert calls == []  # answered from memory
    later = time.time() + 66
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated) as err:
        svc.verify(token)  # past its expiry (and the leeway) a remembered token is refused all the same
    assert err.value.details["reason"] == "expired"
    assert calls == [token]
    with pytest.raises(Unauthenticated):
        svc.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))  # a tampered copy is decoded


def test_token_algorithm_is_pinned_and_expiry_required() -> None:
    svc = _tokens()
    claims = {"sub": "u", "iss": "yellowcart", "aud": "yellowcart", "iat": int(time.time())}
    no_exp = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        svc.verify(no_exp)
    other_alg = jwt.encode({**claims, "exp": int(time.time()) + 60}, TEST_SECRET, algorithm="HS512")
    with pytest.raises(Unauthenticated):
        svc.verify(other_alg)
    none_alg = jwt.encode({**claims, "exp": int(time.time()) + 60}, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        svc.verify(none_alg)


def test_public_key_verification() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    issuer = TokenService(Settings(jwt_algorithm="ES256", jwt_public_key=public, jwt_private_key=private))
    verifier = TokenService(Settings(jwt_algorithm="ES256", jwt_public_key=public))
    assert verifier.verify(issuer.issue("u9", [Role.FINANCE])).roles == {Role.FINANCE}
    # an HS256 token signed with the public key text must not pass (algorithm confusion)
    forged = jwt.encode(
        {"sub": "x", "iss": "yellowcart", "aud": "yellowcart", "iat": 1, "exp": 2**40},
        "k" * 40,
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_settings_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="32"):
        Settings(jwt_secret="short")
    with pytest.raises(ValueError, match="JWT_PUBLIC_KEY"):
        Settings(jwt_algorithm="RS256")
    with pytest.raises(ValueError):
        Settings(port=0)


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/1")
    monkeypatch.setenv("PORT", "9001")
    s = Settings()
    assert (s.database_url, s.redis_url, s.port) == ("postgresql://db/x", "redis://r:6379/1", 9001)
    assert s.base_url == "http://127.0.0.1:9001"
