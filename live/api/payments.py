"""Paying for orders through the provider, its notifications, and finance's flags."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from commerce.core.errors import InvalidInput, NotFound, Unavailable
from commerce.core.identity import Role
from commerce.payments.models import FinanceFlag
from commerce.payments.provider import ProviderError
from live.api.errors import EdgeError
from live.api.presenters import statement_check_out
from live.api.routing import Api, Ctx
from live.api.schemas import (
    CheckoutOut,
    FlagList,
    FlagOut,
    NoticeAnswer,
    OrderPayments,
    PageQuery,
    PaymentOut,
    RefundOut,
    StatementCheckOut,
)
from live.ordering.service import order_for

api = Api()
TAGS = ["payments"]


@api.op(
    "POST",
    "/orders/{order_id:int}/pay",
    summary="Pay for an unpaid order: what the client needs to pay at the provider (asking again reuses it)",
    tags=TAGS,
    response=CheckoutOut,
)
async def pay(ctx: Ctx) -> CheckoutOut:
    c = await ctx.services.payments.checkout(ctx.path["order_id"], ctx.user.user_id)
    return CheckoutOut(
        payment_id=c.payment.id,
        out_trade_no=c.payment.out_trade_no,
        provider=c.payment.provider,
        amount_minor=c.payment.amount_minor,
        currency=c.payment.currency,
        pay_url=c.pay_url,
        client_params=c.client_params,
    )


@api.op(
    "POST",
    "/payments/notify/{provider}",
    summary="The provider's asynchronous notification (signature verified; duplicates change nothing)",
    tags=TAGS,
    response=NoticeAnswer,
    auth="public",
)
async def notify(ctx: Ctx) -> NoticeAnswer:
    services = ctx.services
    if ctx.path["provider"] != services.payments.provider.name:
        raise NotFound("payment provider", ctx.path["provider"])
    body = await ctx.request.body()
    if len(body) > services.settings.max_body_bytes:
        raise EdgeError(
            413, "too_large", "notification body too large", {"max": services.settings.max_body_bytes}
        )
    result = await services.payments.notification(dict(ctx.request.headers), body)
    services.metrics.payment_notices.labels(result.outcome).inc()
    return NoticeAnswer(code="SUCCESS", outcome=result.outcome)


@api.op(
    "GET",
    "/orders/{order_id:int}/payments",
    summary="An order's payments and refunds (its buyer, shop and staff)",
    tags=TAGS,
    response=OrderPayments,
)
async def order_payments(ctx: Ctx) -> OrderPayments:
    order, _ = await order_for(ctx.services, ctx.user, ctx.path["order_id"])
    pays, refunds = await ctx.services.payments.payments_of(order.id)
    return OrderPayments(
        payments=[PaymentOut.model_validate(p) for p in pays],
        refunds=[RefundOut.model_validate(r) for r in refunds],
    )


@api.op(
    "GET",
    "/staff/finance/flags",
    summary="Payments finance must look at (amount mismatches, late payments, unknown notices)",
    tags=TAGS,
    query=PageQuery,
    response=FlagList,
)
async def finance_flags(ctx: Ctx) -> FlagList:
    ctx.user.require(Role.FINANCE, Role.PLATFORM_STAFF)
    q: PageQuery = ctx.query
    async with ctx.services.db.read() as s:
        rows = await s.scalars(
            select(FinanceFlag).order_by(FinanceFlag.id.desc()).offset(q.offset).limit(q.limit)
        )
        return FlagList(items=[FlagOut.model_validate(r) for r in rows])


@api.op(
    "POST",
    "/staff/finance/statements/{day:date}/reconcile",
    summary="Compare the provider's statement of a day (YYYY-MM-DD, UTC) with our payments and refunds; "
    "each disagreement is flagged for finance once; a day that has not ended yet is a 409",
    tags=TAGS,
    response=StatementCheckOut,
)
async def reconcile_statement(ctx: Ctx) -> StatementCheckOut:
    ctx.user.require(Role.FINANCE, Role.PLATFORM_STAFF)
    try:
        day = date.fromisoformat(ctx.path["day"])
    except ValueError:
        raise InvalidInput("day must be a date, YYYY-MM-DD", details={"field": "day"}) from None
    try:
        check = await ctx.services.payments.reconcile_statement(day)
    except ProviderError as exc:
        raise Unavailable("the payment provider did not give the statement; try again later") from exc
    return statement_check_out(check)
