"""Fixtures. ``db_url`` is parametrized over SQLite and PostgreSQL: every test using it runs on both."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from live.migrate import upgrade
from live.models import metadata
from tests.support import (
    IN_CI,
    Client,
    DatabaseTemplate,
    FakeClock,
    create_pg_database,
    drop_pg_database,
    make_services,
    postgres_base_url,
    reachable,
    with_database,
)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> DatabaseTemplate:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return DatabaseTemplate("sqlite", f"sqlite:///{path}", sqlite_template=path)


@pytest.fixture(scope="session")
def postgresql_template() -> Iterator[DatabaseTemplate]:
    import asyncio

    base = postgres_base_url()
    if not reachable(base, 5432):
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {base} (CI must test it)")
        pytest.skip(f"PostgreSQL is not reachable at {base}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # one database per test process, so concurrent runs on one server never meet
    name = f"yellowcart_test_{worker}_{os.getpid()}"
    asyncio.run(create_pg_database(base, name))
    url = with_database(base, name)
    upgrade(url)
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    yield DatabaseTemplate("postgresql", url, tables=tables)
    asyncio.run(drop_pg_database(base, name))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    template: DatabaseTemplate = request.getfixturevalue(f"{request.param}_template")
    yield template.fresh(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(db_url: str, clock: FakeClock) -> AsyncIterator[Client]:
    services = make_services(db_url, clock)
    await services.hub.start()
    services.relay.start()
    c = Client(services)
    try:
        yield c
    finally:
        await c.aclose()
        await services.relay.stop()
        await services.hub.stop()
        await services.db.dispose()
