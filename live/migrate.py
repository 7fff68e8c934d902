"""Run Alembic migrations programmatically (``yellowcart db upgrade``)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from commerce.core.database import normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return cfg


def _ensure_sqlite_dir(database_url: str) -> None:
    url = normalize_url(database_url)
    if url.startswith("sqlite+aiosqlite:///") and ":memory:" not in url:
        path = url.removeprefix("sqlite+aiosqlite:///").split("?")[0]
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=True)
