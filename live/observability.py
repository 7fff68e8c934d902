"""Structured JSON logs with a request id, Prometheus metrics, and the ASGI middleware that feeds both."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# LogRecord's own attributes, and uvicorn's ANSI-coloured copy of the message
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
_STD_ATTRS |= {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str, as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # our middleware writes the access log with the request id; uvicorn's would duplicate it
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class Metrics:
    """This process's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "yellowcart_http_requests_total",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "yellowcart_http_request_duration_seconds",
            "HTTP request latency by route and method",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.in_flight = Gauge(
            "yellowcart_http_requests_in_flight", "HTTP requests being served", registry=self.registry
        )
        self.outbox_published = Counter(
            "yellowcart_outbox_published_total", "events published from the outbox", registry=self.registry
        )
        self.ws_connections = Gauge(
            "yellowcart_ws_connections", "room channel connections on this process", registry=self.registry
        )
        self.ws_accepted = Counter(
            "yellowcart_ws_accepted_total",
            "room channel connections accepted, by send path (direct: room frames written to the "
            "transport once built; asgi: sent through ASGI one by one)",
            ["path"],
            registry=self.registry,
        )
        self.orders = Counter(
            "yellowcart_orders_total", "order requests by outcome", ["outcome"], registry=self.registry
        )
        self.payment_notices = Counter(
            "yellowcart_payment_notices_total",
            "provider notifications by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.stock_repairs = Counter(
            "yellowcart_stock_repairs_total",
            "stock counters found to disagree with the orders and repaired",
            registry=self.registry,
        )
        self.ws_frames = Counter(
            "yellowcart_ws_frames_total", "frames queued to viewers", registry=self.registry
        )
        self.ws_bytes = Counter(
            "yellowcart_ws_bytes_total", "bytes queued to viewers", registry=self.registry
        )
        self.ws_drops = Counter(
            "yellowcart_ws_slow_client_actions_total",
            "slow-client policy actions (chat drop, coalesce, close)",
            ["action"],
            registry=self.registry,
        )
        self.ws_resume = Counter(
            "yellowcart_ws_resume_total", "resume and catch-up outcomes", ["outcome"], registry=self.registry
        )
        self.ws_position_checks = Counter(
            "yellowcart_ws_position_checks_total",
            "position checks of this process's rooms: against the broker, or also the database (anchor)",
            ["kind"],
            registry=self.registry,
        )
        self.ws_position_repairs = Counter(
            "yellowcart_ws_position_repairs_total",
            "rooms a position check found behind (a lost message), by where the missing events were seen",
            ["source"],
            registry=self.registry,
        )
        self.ws_events_recovered = Counter(
            "yellowcart_ws_events_recovered_total",
            "state events a room caught up on after a gap, by where they were read from",
            ["source"],
            registry=self.registry,
        )
        self.ws_messages = Counter(
            "yellowcart_ws_messages_total",
            "client messages by type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.ws_broadcast_seconds = Histogram(
            "yellowcart_ws_broadcast_seconds",
            "time to build and queue one room frame",
            registry=self.registry,
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
        )
        self.event_loop_lag = Histogram(
            "yellowcart_event_loop_lag_seconds",
            "how late the hub tick ran",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
        )
        self.broker_reconnects = Counter(
            "yellowcart_broker_reconnects_total",
            "broker reconnections followed by a catch-up",
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "yellowcart_outbox_failures_total",
            "outbox relay runs that failed and will be retried",
            registry=self.registry,
        )
        self.reactions_handled = Counter(
            "yellowcart_reactions_handled_total",
            "committed events handled by each consumer (a rerun after a crash counts again)",
            ["consumer"],
            registry=self.registry,
        )
        self.reactions_failures = Counter(
            "yellowcart_reactions_failures_total",
            "consumer runs that failed and will be retried (their progress stays where it was)",
            ["consumer"],
            registry=self.registry,
        )


class ObservabilityMiddleware:
    """Assigns a request id, times the request, counts it by route template, writes the access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger("yellowcart.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        status = 500
        start = time.perf_counter()
        self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.in_flight.dec()
            route = scope.get("yc.route") or _static_route(scope["path"])
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            self.log.info(
                "%s %s %s",
                method,
                scope["path"],
                status,
                extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id_var.reset(token)


def _static_route(path: str) -> str:
    return path if path in {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/"} else "unmatched"
