"""The caller's identity: who they are, their roles and their shops."""

from __future__ import annotations

from commerce.shops.models import LiveStatus
from live.api.schemas.common import Out


class MyShop(Out):
    shop_id: int
    name: str
    role: str
    live_status: LiveStatus


class MeOut(Out):
    user_id: str
    name: str
    roles: list[str]
    shops: list[MyShop]
