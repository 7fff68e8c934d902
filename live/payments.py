"""Choosing the payment provider from the settings (unknown names are refused at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from commerce.payments.provider import PaymentProvider
from commerce.payments.sandbox import SandboxBank, create_app
from live.settings import Settings

SANDBOX_MOUNT = "/sandbox"


@dataclass
class ProviderSetup:
    provider: PaymentProvider
    bank: SandboxBank | None = None  # the in-process sandbox, when there is one


def create_payment_provider(settings: Settings) -> ProviderSetup:
    name = settings.payment_provider
    if name == "sandbox":
        from commerce.payments.sandbox_provider import SandboxProvider

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
    raise ValueError(f"unknown payment provider {name!r}; known: sandbox")
