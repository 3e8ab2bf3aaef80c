"""Database URLs are turned into async driver URLs; SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from opentoken.stores.sql.engine import create_engine, parse_database_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///data/opentoken.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///data/opentoken.db", "sqlite+aiosqlite"),
        ("postgresql://u:p@db:5432/ot", "postgresql+asyncpg"),
        ("postgres://u:p@db/ot", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/ot", "postgresql+asyncpg"),
    ],
)
def test_async_drivers_are_chosen(given: str, driver: str) -> None:
    assert parse_database_url(given).url.drivername == driver


def test_libpq_options_become_server_settings() -> None:
    db = parse_database_url("postgresql://u@h/d?options=-csearch_path%3Dtenant_a%20-c%20statement_timeout%3D5s")
    assert db.server_settings == {"search_path": "tenant_a", "statement_timeout": "5s"}
    assert db.schema == "tenant_a"
    assert "options" not in db.url.query


@pytest.mark.parametrize("bad", ["mysql://u@h/d", "sqlite://", "sqlite:///:memory:"])
def test_unsupported_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_database_url(bad)


async def test_sqlite_creates_parent_dirs_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ot.db"
    engine = create_engine(parse_database_url(f"sqlite:///{path}"))
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar_one() == 1  # NORMAL
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 30000
    finally:
        await engine.dispose()
    assert path.exists()
