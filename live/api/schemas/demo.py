"""The demo's sign-in: its accounts and the tokens it hands out (only with DEMO_SIGN_IN on)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from live.api.schemas.common import In, Out


class DemoAccountOut(Out):
    account: str
    user_id: str
    name: str
    roles: list[str]


class DemoAccountsOut(Out):
    items: list[DemoAccountOut]


class DemoSignInIn(In):
    account: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


class DemoTokenOut(Out):
    account: str
    user_id: str
    roles: list[str]
    token: str
    expires_at: datetime
