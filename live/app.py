"""The composition root: build every service from one Settings object and assemble the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, WebSocketRoute

from commerce.core import failpoints
from commerce.core.database import Database
from commerce.core.db import Clock, system_clock
from commerce.files import FileLinks, create_file_store
from commerce.orders.service import OrderService
from commerce.orders.stock import create_stock
from commerce.payments.service import PaymentService
from live import __doc__ as live_doc
from live import web
from live.api import (
    cart,
    catalog,
    demo,
    files,
    me,
    media,
    moderation,
    ops,
    orders,
    payments,
    rooms,
    shops,
    staff,
    uploads,
)
from live.api.errors import error_response
from live.api.routing import Api
from live.api.ws import room_socket
from live.auth import TokenService
from live.broker import create_broker, create_counters
from live.container import Services
from live.event_log import EventLog
from live.events import BrokerSink, FanoutSink, LocalBus, OutboxRelay
from live.hub import Hub, RoomTally
from live.media_factory import create_media_provider
from live.moderation.cache import WordListCache
from live.observability import Metrics, ObservabilityMiddleware
from live.ordering import reactions as ordering_reactions
from live.ordering.jobs import OrderJobs
from live.ordering.sale_cache import SaleCache
from live.origins import OriginGuard, OriginPolicy
from live.payment_factory import SANDBOX_MOUNT, create_payment_provider
from live.reactions import Reactions
from live.rooms.actions import record_audience
from live.settings import Settings
from live.snapshots import RoomSnapshots
from live.streaming import reactions as streaming_reactions
from live.streaming.jobs import StreamJobs
from live.streaming.service import StreamRefused, StreamService
from live.uploads import ImageStore
from media.provider import StreamEvent
from sandbox.payments.app import create_app as sandbox_app

log = logging.getLogger("yellowcart.app")
VERSION = "0.1.0"


def build_api() -> Api:
    api = Api()
    # Starlette tries routes in order: buying first, as a flash sale sends thousands of orders a second
    for module in (orders, ops, me, shops, catalog, rooms, cart, staff, moderation, payments, media, demo):
        api.include(module.api)
    api.include(uploads.api)
    return api


def build_services(settings: Settings, clock: Clock = system_clock) -> Services:
    db = Database(
        settings.database_url, pool_size=settings.db_pool_size, wait_seconds=settings.db_wait_seconds
    )
    metrics = Metrics()
    bus = LocalBus()
    broker = create_broker(
        settings.redis_url,
        history_size=settings.ws_history,
        chat_history=settings.ws_chat_history,
        prefix=settings.redis_prefix,
    )

    async def keep_figures(t: RoomTally) -> None:
        async with db.transaction() as s:
            await record_audience(
                s,
                t.room_id,
                peak=t.peak,
                unique=t.unique,
                likes=t.likes,
                danmaku=t.danmaku,
                watch_seconds=t.watch_seconds,
                sessions=t.sessions,
                online=t.online,
                at=clock(),
            )

    hub = Hub(
        broker,
        create_counters(settings.redis_url, prefix=settings.redis_prefix),
        metrics,
        tick_seconds=settings.ws_tick_ms / 1000,
        counts_seconds=settings.ws_counts_seconds,
        keep_figures=keep_figures,
        keep_seconds=settings.ws_keep_figures_seconds,
        truth=EventLog(db, limit=settings.ws_history),
        position_seconds=settings.ws_position_check_seconds,
        anchor_seconds=settings.ws_anchor_check_seconds,
    )
    relay = OutboxRelay(
        db, FanoutSink(BrokerSink(broker), bus), clock, metrics, poll_seconds=settings.outbox_poll_seconds
    )
    db.on_commit(relay.nudge)
    reactions = Reactions(
        db,
        clock,
        metrics,
        poll_seconds=settings.outbox_poll_seconds,
        settle_seconds=settings.reactions_settle_seconds,
    )
    db.on_commit(reactions.nudge)
    redis = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    payment = create_payment_provider(settings)
    sale_cache = SaleCache(db)
    stock = create_stock(settings.redis_url, db, prefix=settings.redis_prefix)
    hub.on_state = sale_cache.forget  # a price or status change drops the cached facts at once

    async def stream_event(event: StreamEvent) -> None:
        # events the provider reports itself (the WebRTC relay); a refusal makes it drop the publisher
        outcome = await services.streams.on_event(event)
        if not outcome.admitted:
            raise StreamRefused(outcome.reason or "stream refused", details={"outcome": outcome.outcome})

    media = create_media_provider(settings, stream_event, clock)
    services = Services(
        settings=settings,
        db=db,
        tokens=TokenService(settings),
        clock=clock,
        metrics=metrics,
        bus=bus,
        relay=relay,
        reactions=reactions,
        hub=hub,
        words=WordListCache(db),
        snapshots=RoomSnapshots(db, stock, max_age=settings.ws_snapshot_max_age_seconds),
        orders=OrderService(
            db,
            stock,
            clock,
            pay_minutes=settings.order_pay_minutes,
            auto_complete_days=settings.order_auto_complete_days,
        ),
        redis=redis,
        payments=PaymentService(
            db,
            payment.provider,
            clock,
            notify_url=f"{settings.base_url}/payments/notify/{payment.provider.name}",
        ),
        sandbox=payment.bank,
        sale_cache=sale_cache,
        images=ImageStore(Path(settings.upload_dir), settings.base_url),
        files=create_file_store(settings.file_store_url),
        file_links=FileLinks(
            settings.file_links_secret, ttl=timedelta(seconds=settings.file_link_ttl_seconds)
        ),
        media=media,
        streams=StreamService(
            db,
            media,
            clock,
            go_live=settings.media_go_live,
            grace=timedelta(seconds=settings.media_grace_seconds),
            key_ttl=timedelta(seconds=settings.media_key_ttl_seconds),
        ),
    )
    # what follows each business fact: consumers of the committed events
    for consumer in (*ordering_reactions.consumers(services), *streaming_reactions.consumers(services)):
        reactions.add(consumer)
    return services


def _arm_crash_point(settings: Settings) -> None:
    """Tests only (refused by the settings unless TEST_CRASH_ENABLED): die at the named point."""
    if settings.test_crash_after is None:
        return
    log.warning("TEST_CRASH_AFTER=%s: this process kills itself there", settings.test_crash_after)
    failpoints.arm(settings.test_crash_after, lambda: os.kill(os.getpid(), signal.SIGKILL))


def create_app(
    settings: Settings | None = None, *, clock: Clock = system_clock, services: Services | None = None
) -> Starlette:
    settings = settings or Settings()
    services = services or build_services(settings, clock)
    api = build_api()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.uses_dev_secret:
            log.warning("JWT_SECRET is not set: using the development secret; never do this in production")
        _arm_crash_point(settings)
        await services.hub.start()
        services.relay.start()
        services.reactions.start()
        jobs = OrderJobs(services)
        jobs.start()
        stream_jobs = StreamJobs(services)
        stream_jobs.start()
        notifier = (
            asyncio.create_task(services.sandbox.run_notifier(), name="sandbox-notifier")
            if services.sandbox is not None
            else None
        )
        log.info(
            "yellowcart started", extra={"database": services.db.dialect, "redis": bool(settings.redis_url)}
        )
        try:
            yield
        finally:
            log.info("yellowcart shutting down")
            await jobs.stop()
            await stream_jobs.stop()
            await services.streams.stop()
            await services.media.close()
            if notifier is not None:
                notifier.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await notifier
            await services.payments.provider.close()
            await services.reactions.stop()
            await services.relay.stop()
            await services.hub.stop()
            if services.redis is not None:
                await services.redis.aclose()
            await services.orders.stock.close()
            await services.db.dispose()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # a 405 keeps the routing's Allow header (RFC 9110: the methods the path accepts)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        details = {"path": request.url.path}
        if exc.status_code == 405:
            details["method"] = request.method
        headers = dict(exc.headers or {})
        return error_response(exc.status_code, code, str(exc.detail), details, headers=headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "internal server error", "details": {}}},
            status_code=500,
        )

    routes: list[BaseRoute] = [
        *api.routes(),
        *media.routes,
        *uploads.routes,
        *files.routes,
        WebSocketRoute("/ws/rooms/{room_id}", room_socket),  # any id: a bad one gets the 4004 close,
        *web.routes(),
    ]
    if services.sandbox is not None:  # the in-process sandbox's payment page and API, for a person to click
        routes.append(Mount(SANDBOX_MOUNT, app=sandbox_app(services.sandbox)))
    origins = OriginPolicy(settings.base_url, settings.ws_allowed_origins)
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(ObservabilityMiddleware, metrics=services.metrics),
            Middleware(OriginGuard, policy=origins, metrics=services.metrics),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.openapi = api.openapi(title="Yellowcart", version=VERSION, description=(live_doc or "").strip())
    media.document(app.state.openapi)
    uploads.document(app.state.openapi)
    files.document(app.state.openapi)
    return app
