"""Migrations on fresh SQLite and PostgreSQL databases: they reach head, match the table metadata, are
idempotent, and PostgreSQL refuses to open an unmigrated schema unless asked to migrate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from opentoken.stores.factory import open_stores, run_migrations
from opentoken.stores.sql.engine import create_engine, parse_database_url
from opentoken.stores.sql.migrate import SchemaNotCurrent, current_revision, head_revision
from opentoken.stores.sql.schema import VERSION_TABLE, metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_fresh_database_migrates_to_head_matching_metadata(sql_url: str) -> None:
    assert await run_migrations(sql_url) == head_revision()
    assert await run_migrations(sql_url) == head_revision()  # a second run changes nothing
    db = parse_database_url(sql_url)
    engine = create_engine(db)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_tables) == {
                "api_keys",
                "usage_ledger",
                "replay_state",
                "catalog_models",
                "catalog_prices",
                "stored_responses",
                "gateway_secrets",
                VERSION_TABLE,
            }
    finally:
        await engine.dispose()


async def test_concurrent_migrations_are_serialised(sql_url: str) -> None:
    results = await asyncio.gather(*(run_migrations(sql_url) for _ in range(4)))
    assert results == [head_revision()] * 4


async def test_open_without_migrate(sql_url: str) -> None:
    if sql_url.startswith("sqlite"):
        stores = await open_stores(sql_url, migrate=False)  # SQLite always migrates on open
        assert await stores.ledger.count() == 0
        await stores.close()
        return
    with pytest.raises(SchemaNotCurrent, match="opentoken migrate"):
        await open_stores(sql_url, migrate=False)
    await run_migrations(sql_url)
    stores = await open_stores(sql_url, migrate=False)
    assert await stores.ledger.count() == 0
    await stores.close()
