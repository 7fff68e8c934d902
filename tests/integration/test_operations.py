"""Operations: health, readiness (database and Redis), metrics, request ids, JSON logs, migrations."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from commerce.core.database import normalize_url
from live.migrate import downgrade, upgrade
from live.models import metadata
from live.observability import JsonFormatter, request_id_var
from live.web import PAGES
from tests.support import Client, FakeClock, make_services, redis_url


async def test_healthz_and_readyz(client: Client) -> None:
    assert (await client.call("GET", "/healthz")).json() == {"status": "ok"}
    ready = await client.call("GET", "/readyz")
    assert ready.status_code == 200
    assert [c["name"] for c in ready.json()["checks"]] == ["database"]


async def test_readyz_checks_real_redis_when_configured(db_url: str, clock: FakeClock) -> None:
    services = make_services(db_url, clock, redis_url=redis_url())
    c = Client(services)
    try:
        r = await c.call("GET", "/readyz")
        assert r.status_code == 200, r.text
        assert {x["name"]: x["ok"] for x in r.json()["checks"]} == {"database": True, "redis": True}
    finally:
        await c.aclose()
        assert services.redis is not None
        await services.redis.aclose()
        await services.db.dispose()


async def test_readyz_reports_unreachable_redis(db_url: str, clock: FakeClock) -> None:
    services = make_services(db_url, clock, redis_url="redis://127.0.0.1:1/0")
    c = Client(services)
    try:
        r = await c.call("GET", "/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not_ready"
        redis_check = next(x for x in body["checks"] if x["name"] == "redis")
        assert redis_check["ok"] is False and redis_check["error"]
    finally:
        await c.aclose()
        assert services.redis is not None
        await services.redis.aclose()
        await services.db.dispose()


async def test_request_id_and_metrics(client: Client) -> None:
    r = await client.call("GET", "/rooms/12345", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "abc-123"
    generated = await client.call("GET", "/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32
    text = (await client.call("GET", "/metrics")).text
    assert 'yellowcart_http_requests_total{method="GET",route="/rooms/{room_id}",status="404"} 1.0' in text
    assert "yellowcart_http_request_duration_seconds_bucket" in text


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("yellowcart.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.room_id = 7
    token = request_id_var.set("rid-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "hello x" and line["request_id"] == "rid-1" and line["room_id"] == 7
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")


async def test_openapi_lists_every_route(client: Client) -> None:
    doc = (await client.call("GET", "/openapi.json")).json()
    served = {
        (m, getattr(r, "path", ""))
        for r in client.app.routes
        for m in getattr(r, "methods", set())
        if m != "HEAD"
    }
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    normalized = {(m, re.sub(r":\w+}", "}", p)) for m, p in served}
    pages = {("GET", page.path) for page in PAGES}  # the web client's HTML pages are not the API
    assert normalized - pages == documented
    assert not {p for _, p in pages} & {p for _, p in documented}  # page paths never collide with the API's
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (method, path)
            if method in {"post", "put", "patch"} and "requestBody" in op:
                content = op["requestBody"]["content"]
                media_type = (
                    "application/sdp"
                    if path.startswith(("/media/whip/", "/media/whep/"))
                    else "image/png"  # with image/jpeg and image/webp: a picture's raw bytes
                    if path == "/uploads/images"
                    else "application/json"
                )
                assert content[media_type]["schema"], (method, path)


def test_migrations_match_the_models_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    _assert_no_diff(url)
    downgrade(url, "base")
    upgrade(url)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_migrations_match_the_models_on_postgresql(backend: str, postgresql_template: object) -> None:
    from tests.support import DatabaseTemplate

    assert isinstance(postgresql_template, DatabaseTemplate)
    _assert_no_diff(postgresql_template.url)


def _assert_no_diff(url: str) -> None:
    import asyncio

    async def diff() -> list[object]:
        engine = create_async_engine(normalize_url(url))
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), metadata
                )
            )
        await engine.dispose()
        return list(result)

    assert asyncio.run(diff()) == []
