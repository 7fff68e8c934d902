"""Which origins may open a WebSocket: the server's own, the configured ones, none at all; and the
setting refuses what is not an origin."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from live.origins import OriginPolicy, normalize_origin
from tests.support import settings_for


def test_origins_are_compared_in_one_normal_form() -> None:
    assert normalize_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert normalize_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    assert normalize_origin("capacitor://localhost") == "capacitor://localhost"
    for not_an_origin in ("null", "shop.example", "https://shop.example/path", "https://u@shop.example", ""):
        assert normalize_origin(not_an_origin) is None, not_an_origin


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "any.example", True),  # a native app sends no Origin
        ("https://live.example", "10.0.0.5:8000", True),  # PUBLIC_URL, behind a proxy rewriting Host
        ("https://shop.example", "live.example", True),  # configured
        ("https://SHOP.example:443", "live.example", True),
        ("http://127.0.0.1:9000", "127.0.0.1:9000", True),  # the Host the handshake came to
        ("https://direct.example", "direct.example", True),  # default port on both sides
        ("https://direct.example", "direct.example:443", True),
        ("http://direct.example", "direct.example:443", False),  # another port
        ("https://evil.example", "live.example", False),
        ("https://shop.example.evil.example", "live.example", False),
        ("null", "live.example", False),  # a sandboxed page or a file
        ("https://evil.example", None, False),
    ],
)
def test_the_servers_own_and_configured_origins_are_allowed(
    origin: str | None, host: str | None, allowed: bool
) -> None:
    policy = OriginPolicy("https://live.example", ["https://shop.example"])
    assert policy.allows(origin, host) is allowed


def test_a_star_allows_every_origin() -> None:
    assert OriginPolicy("http://127.0.0.1:8000", ["*"]).allows("https://anyone.example", "x")


def test_the_setting_takes_origins_only() -> None:
    settings = settings_for("sqlite://", ws_allowed_origins=["HTTPS://Shop.Example/", "*"])
    assert settings.ws_allowed_origins == ["https://shop.example", "*"]
    with pytest.raises(ValidationError, match="is not an origin"):
        settings_for("sqlite://", ws_allowed_origins=["https://shop.example/app"])
