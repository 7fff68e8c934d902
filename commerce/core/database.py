"""The database handle: engine, sessions, one transaction per business action, after-commit hooks, and
what happens when the database cannot answer.

Waiting is bounded: a connection from the pool (and, on SQLite, the write lock) is waited for at most
``wait_seconds``. ``run(work)`` runs a unit of work whose every effect is inside its transaction and
retries it once on a fresh connection when the connection dropped before the commit was sent (nothing
was written); a connection that dropped while the commit was on its way leaves the outcome unknown and
is never retried here (``CommitUnknown``). ``unavailable(exc)`` names the database failures that mean
"try again shortly" (the edge answers them 503 with Retry-After) and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from commerce.core.errors import CommitUnknown, DatabaseUnavailable

log = logging.getLogger("yellowcart.database")
T = TypeVar("T")

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

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        wait_seconds: float = 10.0,
        retry_after: float = 1.0,
        echo: bool = False,
    ) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.wait_seconds = wait_seconds
        self.retry_after = retry_after
        kwargs: dict[str, Any] = {"echo": echo}
        in_memory = self.dialect == "sqlite" and parsed.database in (None, "", ":memory:")
        if not in_memory:  # an in-memory SQLite database lives in one connection: no pool to size
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=wait_seconds)
        if self.dialect == "postgresql":
            kwargs.update(pool_pre_ping=True)
        else:
            kwargs.update(connect_args={"timeout": wait_seconds})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, busy_ms=int(wait_seconds * 1000))
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
        """One transaction around the caller's block, committed when it ends. The block is not run
        again; a connection that drops while the commit is on its way is marked so that ``unavailable``
        says "commit_unknown" rather than "nothing was written"."""
        async with self.sessions() as session:
            await session.begin()
            yield session
            await session.flush()
            try:
                await session.commit()
            except sa_exc.DBAPIError as exc:
                if exc.connection_invalidated and not _never_sent(exc):
                    exc.yc_commit_unknown = True  # type: ignore[attr-defined]
                raise
        if session.info.get(OUTBOX_WRITTEN):
            for hook in self._after_commit:
                hook()

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction and commit; ``work`` must keep every effect inside the
        transaction (no stock taken elsewhere, no message sent), as it may run twice: when the
        connection drops before the commit was sent, nothing was written and ``work`` runs once more
        on a fresh connection. A drop while the commit was on its way raises ``CommitUnknown``; a
        second drop, an exhausted pool or a busy database raise ``DatabaseUnavailable``."""
        try:
            return await self._run_once(work)
        except _LostBeforeCommit as lost:
            log.warning("database connection lost before commit; running the work again", exc_info=lost)
        try:
            return await self._run_once(work)
        except _LostBeforeCommit as lost:
            raise self._unavailable("connection_lost") from lost.__cause__

    async def _run_once(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.sessions() as session:
            try:
                await session.begin()
                result = await work(session)
                await session.flush()
            except sa_exc.DBAPIError as exc:
                if exc.connection_invalidated:
                    raise _LostBeforeCommit() from exc
                self._raise_unavailable(exc)
                raise
            except sa_exc.TimeoutError as exc:
                self._raise_unavailable(exc)
                raise
            try:
                await session.commit()
            except sa_exc.DBAPIError as exc:
                if exc.connection_invalidated and _never_sent(exc):
                    raise _LostBeforeCommit() from exc
                if exc.connection_invalidated:
                    raise CommitUnknown(retry_after=self.retry_after) from exc
                self._raise_unavailable(exc)
                raise
        if session.info.get(OUTBOX_WRITTEN):
            for hook in self._after_commit:
                hook()
        return result

    def _raise_unavailable(self, exc: Exception) -> None:
        """Raise ``exc`` as ``DatabaseUnavailable`` when it means "try again shortly"."""
        busy = self.unavailable(exc)
        if busy is not None:
            raise busy from exc

    def _unavailable(self, reason: str) -> DatabaseUnavailable:
        return DatabaseUnavailable(reason, _MESSAGES[reason], retry_after=self.retry_after)

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable | None:
        """The 503 answer for a failure that means the database cannot take work now (no connection
        free within the wait, SQLite's write lock held past the wait, a dropped or refused
        connection); None for anything else (a bug or a constraint stays what it is)."""
        if isinstance(exc, DatabaseUnavailable):
            return exc
        if isinstance(exc, sa_exc.TimeoutError):
            return self._unavailable("pool_exhausted")
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            if getattr(exc, "yc_commit_unknown", False):
                return CommitUnknown(retry_after=self.retry_after)
            return self._unavailable("connection_lost")
        if isinstance(exc, sa_exc.OperationalError):
            text = str(exc.orig).lower()
            if "database is locked" in text or "database is busy" in text:
                return self._unavailable("database_busy")
            if self.dialect == "postgresql":  # refused, shutting down, too many clients...
                return self._unavailable("connection_lost")
        return None

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


class _LostBeforeCommit(Exception):
    """The connection dropped before the commit was sent: the transaction was not written."""


_MESSAGES = {
    "pool_exhausted": "every database connection stayed busy for the whole wait; try again shortly",
    "database_busy": "the database stayed locked by other writers for the whole wait; try again shortly",
    "connection_lost": "the database connection dropped and nothing was written; try again shortly",
}


def _never_sent(exc: sa_exc.DBAPIError) -> bool:
    """asyncpg refuses to send on a connection it already knows is closed ("connection is closed"):
    then the COMMIT never left, and a server that lost the connection rolls the transaction back."""
    return "connection is closed" in str(exc.orig) and "middle of operation" not in str(exc.orig)


def _configure_sqlite(engine: AsyncEngine, *, busy_ms: int) -> None:
    # SQLite upgrades a read lock to a write lock lazily and then fails with "database is locked";
    # taking the write lock at BEGIN makes concurrent writers queue on busy_timeout instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("yc_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
