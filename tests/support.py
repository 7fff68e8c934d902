"""Test helpers: an injected clock, a database factory per back-end, and an API client with identities."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from commerce.core.database import Database
from commerce.core.identity import Role
from live.app import build_services, create_app
from live.container import Services
from live.settings import Settings

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class FakeClock:
    """An injected clock: tests move time forward explicitly; nothing sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def postgres_base_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres")):
        return url
    return "postgresql://127.0.0.1:5432/test"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _admin(base_url: str) -> Any:
    import asyncpg

    parts = urlsplit(base_url.replace("+asyncpg", ""))
    return await asyncpg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or None,
        password=parts.password or None,
        database=(parts.path or "/test").lstrip("/") or "test",
    )


async def drop_pg_database(base_url: str, name: str) -> None:
    conn = await _admin(base_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_pg_database(base_url: str, name: str) -> None:
    conn = await _admin(base_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@dataclass
class DatabaseTemplate:
    """A migrated database per back-end; each test gets a clean copy (SQLite) or clean tables (PostgreSQL)."""

    backend: str
    url: str
    sqlite_template: Path | None = None
    tables: list[str] = field(default_factory=list)

    def fresh(self, tmp: Path) -> str:
        if self.backend == "sqlite":
            assert self.sqlite_template is not None
            target = tmp / "test.db"
            shutil.copyfile(self.sqlite_template, target)
            return f"sqlite:///{target}"
        asyncio.run(self._truncate())
        return self.url

    async def _truncate(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        from commerce.core.database import normalize_url

        engine = create_async_engine(normalize_url(self.url))
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
        await engine.dispose()


def settings_for(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": db_url, "jwt_secret": TEST_SECRET, "redis_url": None}
    values.update(overrides)
    return Settings(**values)


class Client:
    """An HTTP client on the in-process app, with named identities."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.app = create_app(services.settings, services=services)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test")

    def token(self, user: str, *roles: Role) -> str:
        return self.services.tokens.issue(user, roles or (Role.VIEWER,), name=user)

    def auth(self, user: str | None, *roles: Role) -> dict[str, str]:
        if user is None:
            return {}
        return {"Authorization": f"Bearer {self.token(user, *roles)}"}

    async def call(
        self, method: str, path: str, as_: Iterable[Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if as_ is not None:
            user, *roles = list(as_)
            headers.update(self.auth(user, *roles))
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()


def make_services(db_url: str, clock: FakeClock, **overrides: Any) -> Services:
    return build_services(settings_for(db_url, **overrides), clock)


async def seed_shop(db: Database, name: str = "Seed shop") -> int:
    """A shop row written directly (for tests below the HTTP API that need one)."""
    from commerce.shops.models import LiveStatus, Shop

    now = datetime(2026, 11, 24, tzinfo=UTC)
    async with db.transaction() as s:
        shop = Shop(
            name=name,
            category="general",
            owner_id="seed-owner",
            contact_name="Seed",
            contact_phone="+86 138 0000 0000",
            business_license_no="SEED0001",
            conditions_version="seed",
            live_status=LiveStatus.APPROVED,
            created_at=now,
            updated_at=now,
        )
        s.add(shop)
        await s.flush()
        return shop.id
