"""Payment providers are chosen by name; unknown names and incomplete settings are refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from live.payment_factory import create_payment_provider
from tests.support import settings_for


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown payment provider 'paypal'"):
        create_payment_provider(settings_for("sqlite:///x.db", payment_provider="paypal"))


def test_wechatpay_needs_its_keys(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WECHATPAY_MCHID"):
        create_payment_provider(settings_for("sqlite:///x.db", payment_provider="wechatpay"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "merchant.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = tmp_path / "platform.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    setup = create_payment_provider(
        settings_for(
            "sqlite:///x.db",
            payment_provider="wechatpay",
            wechatpay_mchid="1900000109",
            wechatpay_appid="wxd678efh567hg6787",
            wechatpay_merchant_serial="5157F09E",
            wechatpay_merchant_key_file=str(private),
            wechatpay_api_v3_key="0123456789abcdef0123456789abcdef",
            wechatpay_platform_serial="PUB_KEY_ID_1",
            wechatpay_platform_key_file=str(public),
        )
    )
    assert setup.provider.name == "wechatpay" and setup.bank is None
    with pytest.raises(ValueError, match="32 bytes"):
        create_payment_provider(
            settings_for(
                "sqlite:///x.db",
                payment_provider="wechatpay",
                wechatpay_mchid="1",
                wechatpay_appid="a",
                wechatpay_merchant_serial="s",
                wechatpay_merchant_key_file=str(private),
                wechatpay_api_v3_key="short",
                wechatpay_platform_serial="p",
                wechatpay_platform_key_file=str(public),
            )
        )


async def _no_sink(event: object) -> None:
    raise AssertionError("no events expected")


def test_unknown_media_provider_is_refused_at_start_up() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown media provider 'ustream'"):
        settings_for("sqlite:///x.db", media_provider="ustream")


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("aliyun", "ALIYUN_PUSH_DOMAIN, ALIYUN_PLAY_DOMAIN, ALIYUN_PUSH_AUTH_KEY, ALIYUN_NOTIFY_AUTH_KEY"),
        ("tencent", "TENCENT_PUSH_DOMAIN, TENCENT_PLAY_DOMAIN, TENCENT_PUSH_KEY, TENCENT_CALLBACK_KEY"),
    ],
)
def test_cdn_providers_need_their_keys(name: str, needs: str) -> None:
    from commerce.core.db import system_clock
    from live.media_factory import create_media_provider

    with pytest.raises(ValueError, match=f"MEDIA_PROVIDER={name} needs {needs}"):
        create_media_provider(settings_for("sqlite:///x.db", media_provider=name), _no_sink, system_clock)


def test_each_media_provider_is_built_by_name() -> None:
    from commerce.core.db import system_clock
    from live.media_factory import create_media_provider

    extra = {
        "aliyun": {
            "aliyun_push_domain": "push.example.com",
            "aliyun_play_domain": "play.example.com",
            "aliyun_push_auth_key": "k",
            "aliyun_notify_auth_key": "n",
        },
        "tencent": {
            "tencent_push_domain": "push.example.com",
            "tencent_play_domain": "play.example.com",
            "tencent_push_key": "k",
            "tencent_callback_key": "c",
        },
    }
    for name in ("webrtc", "nginx-rtmp", "aliyun", "tencent"):
        settings = settings_for("sqlite:///x.db", media_provider=name, **extra.get(name, {}))
        assert create_media_provider(settings, _no_sink, system_clock).name == name
