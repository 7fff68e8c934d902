"""The database handle: engine, sessions, one transaction per business action, after-commit hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def normalize_url(url: str) -> str:
    """Map a plain ``sqlite://`` or ``postgresql://`` URL to its async driver; refuse other schemes."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _DRIVERS:
        raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}; use sqlite:// or postgresql://")
    return f"{_DRIVERS[scheme]}://{rest}"


OUTBOX_WRITTEN = "yc_outbox_written"  # session.info flag: this transaction recorded outbox events


class Database:
    """Owns the engine. ``transaction()`` is the unit of work: commit on success, then after-commit hooks."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        else:
            kwargs.update(connect_args={"timeout": 30})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # reads begin with a deferred transaction on SQLite, so they never queue behind writers
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(yc_read_only=True), expire_on_commit=False, autoflush=False
        )
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Register a callback run after every committed transaction that recorded outbox events (it
        nudges the outbox relay; a flash sale's order batches record none and wake nobody)."""
        self._after_commit.append(hook)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session
        if session.info.get(OUTBOX_WRITTEN):
            for hook in self._after_commit:
                hook()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; nothing is committed."""
        async with self._read_sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite upgrades a read lock to a write lock lazily and then fails with "database is locked";
    # taking the write lock at BEGIN makes concurrent writers queue on busy_timeout instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("yc_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
