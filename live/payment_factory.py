"""Choosing the payment provider from the settings (unknown names are refused at start-up); for the
sandbox without ``PAYMENT_SANDBOX_URL``, also building the in-process bank our client talks to."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from commerce.payments.provider import PaymentProvider
from live.settings import Settings
from sandbox.payments.app import create_app
from sandbox.payments.bank import SandboxBank

SANDBOX_MOUNT = "/sandbox"


@dataclass
class ProviderSetup:
    provider: PaymentProvider
    bank: SandboxBank | None = None  # the in-process sandbox, when there is one


def create_payment_provider(settings: Settings) -> ProviderSetup:
    name = settings.payment_provider
    if name == "sandbox":
        from commerce.payments.sandbox_client import SandboxProvider

        def client(url: str, transport: httpx.AsyncBaseTransport | None = None) -> SandboxProvider:
            return SandboxProvider(
                url,
                merchant=settings.payment_merchant,
                api_key=settings.payment_api_key,
                notify_secret=settings.payment_notify_secret,
                transport=transport,
            )

        if settings.payment_sandbox_url:
            return ProviderSetup(client(settings.payment_sandbox_url))
        bank = SandboxBank(
            merchant=settings.payment_merchant,
            api_key=settings.payment_api_key,
            notify_secret=settings.payment_notify_secret,
            public_url=settings.base_url + SANDBOX_MOUNT,
        )
        transport = httpx.ASGITransport(app=create_app(bank))
        return ProviderSetup(client("http://sandbox.local", transport), bank)
    if name == "wechatpay":
        return ProviderSetup(_wechatpay(settings))
    raise ValueError(f"unknown payment provider {name!r}; known: sandbox, wechatpay")


def _wechatpay(settings: Settings) -> PaymentProvider:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from commerce.payments.wechatpay import WeChatPayProvider

    missing = [
        name
        for name in (
            "wechatpay_mchid",
            "wechatpay_appid",
            "wechatpay_merchant_serial",
            "wechatpay_merchant_key_file",
            "wechatpay_api_v3_key",
            "wechatpay_platform_serial",
            "wechatpay_platform_key_file",
        )
        if not getattr(settings, name)
    ]
    if missing:
        raise ValueError("PAYMENT_PROVIDER=wechatpay needs " + ", ".join(m.upper() for m in missing))
    assert settings.wechatpay_merchant_key_file and settings.wechatpay_platform_key_file
    with open(settings.wechatpay_merchant_key_file, "rb") as f:
        merchant_key = serialization.load_pem_private_key(f.read(), password=None)
    with open(settings.wechatpay_platform_key_file, "rb") as f:
        platform_key = serialization.load_pem_public_key(f.read())
    if not isinstance(merchant_key, RSAPrivateKey) or not isinstance(platform_key, RSAPublicKey):
        raise ValueError("WeChat Pay keys are RSA keys")
    return WeChatPayProvider(
        mchid=settings.wechatpay_mchid,
        appid=settings.wechatpay_appid,
        merchant_serial=settings.wechatpay_merchant_serial,
        merchant_key=merchant_key,
        api_v3_key=settings.wechatpay_api_v3_key,
        platform_keys={settings.wechatpay_platform_serial: platform_key},
        base_url=settings.wechatpay_base_url,
    )
