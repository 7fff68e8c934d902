"""Operations: liveness, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from live.api.routing import Api, Ctx
from live.api.schemas import HealthOut, ReadyCheck, ReadyOut

api = Api()
TAGS = ["operations"]


@api.op(
    "GET", "/healthz", summary="Liveness: the process answers", tags=TAGS, response=HealthOut, auth="public"
)
async def healthz(ctx: Ctx) -> HealthOut:
    return HealthOut(status="ok")


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> ReadyCheck:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=2.0)
    except Exception as exc:  # any failure means not ready; the reason is reported
        return ReadyCheck(
            name=name,
            ok=False,
            error=f"{type(exc).__name__}: {exc}"[:300],
            latency_ms=round((time.perf_counter() - start) * 1000, 2),
        )
    return ReadyCheck(name=name, ok=True, latency_ms=round((time.perf_counter() - start) * 1000, 2))


@api.op(
    "GET",
    "/readyz",
    summary="Readiness: the database and (when configured) Redis answer",
    tags=TAGS,
    response=ReadyOut,
    auth="public",
    extra={503: ReadyOut},
)
async def readyz(ctx: Ctx) -> Response:
    checks = [await _check("database", ctx.services.db.ping)]
    if ctx.services.redis is not None:
        checks.append(await _check("redis", ctx.services.redis.ping))
    ok = all(c.ok for c in checks)
    body = ReadyOut(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@api.op(
    "GET",
    "/metrics",
    summary="Prometheus metrics of this process",
    tags=TAGS,
    auth="public",
    media_type="text/plain",
)
async def metrics(ctx: Ctx) -> Response:
    return Response(generate_latest(ctx.services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@api.op("GET", "/openapi.json", summary="This document", tags=TAGS, auth="public")
async def openapi(ctx: Ctx) -> Response:
    return JSONResponse(ctx.request.app.state.openapi)
