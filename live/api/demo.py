"""The demo's one-click sign-in. In production the server verifies tokens and issues none: these
operations answer only when the DEMO_SIGN_IN setting is on (`make run` turns it on), and refuse with
404 ``demo_sign_in_off`` otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commerce.core.errors import DomainError, NotFound
from live.api.routing import Api, Ctx
from live.api.schemas.demo import DemoAccountOut, DemoAccountsOut, DemoSignInIn, DemoTokenOut
from live.demo import PEOPLE

api = Api()
DEMO_TOKEN_SECONDS = 7 * 86400


class DemoSignInOff(NotFound):
    """Answered 404, as for a path the server does not have."""

    code = "demo_sign_in_off"

    def __init__(self) -> None:
        DomainError.__init__(self, "the demo sign-in is off on this server: sign in with a token")
        self.kind, self.ident = "demo sign-in", None


def _require_demo(ctx: Ctx) -> None:
    if not ctx.services.settings.demo_sign_in:
        raise DemoSignInOff()


@api.op(
    "GET",
    "/demo/accounts",
    summary="The demo's accounts (DEMO_SIGN_IN only)",
    tags=["identity"],
    response=DemoAccountsOut,
    auth="public",
)
async def demo_accounts(ctx: Ctx) -> DemoAccountsOut:
    _require_demo(ctx)
    return DemoAccountsOut(
        items=[
            DemoAccountOut(
                account=label, user_id=uid, name=label.replace("_", " "), roles=sorted(r.value for r in roles)
            )
            for label, (uid, roles) in PEOPLE.items()
        ]
    )


@api.op(
    "POST",
    "/demo/sign-in",
    summary="Sign in as a demo account: a token for it (DEMO_SIGN_IN only)",
    tags=["identity"],
    body=DemoSignInIn,
    response=DemoTokenOut,
    auth="public",
)
async def demo_sign_in(ctx: Ctx) -> DemoTokenOut:
    _require_demo(ctx)
    body: DemoSignInIn = ctx.body
    if body.account not in PEOPLE:
        raise NotFound("demo account", body.account)
    uid, roles = PEOPLE[body.account]
    token = ctx.services.tokens.issue(
        uid, roles, name=body.account.replace("_", " "), ttl_seconds=DEMO_TOKEN_SECONDS
    )
    return DemoTokenOut(
        account=body.account,
        user_id=uid,
        roles=sorted(r.value for r in roles),
        token=token,
        expires_at=datetime.now(UTC) + timedelta(seconds=DEMO_TOKEN_SECONDS),
    )
