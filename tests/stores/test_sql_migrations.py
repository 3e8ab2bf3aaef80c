"""Migrations on fresh SQLite and PostgreSQL databases: they reach head, match the table metadata, are
idempotent, and PostgreSQL refuses to open an unmigrated schema unless asked to migrate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from opentoken.stores.factory import open_stores, run_migrations
from opentoken.stores.sql.engine import create_engine, parse_database_url
from opentoken.stores.sql.migrate import SchemaNotCurrent, current_revision, head_revision
from opentoken.stores.sql.schema import VERSION_TABLE, metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, metadata))


def _error_index(connection: Connection) -> str:
    """The stored definition of the request log's errors index (its WHERE clause is not in the metadata)."""
    name = "ix_usage_ledger_errors_created_request"
    if connection.dialect.name == "sqlite":
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name")
    else:
        query = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name AND schemaname = current_schema()")
    return str(connection.execute(query, {"name": name}).scalar_one())


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
            assert "WHERE error_code IS NOT NULL" in (await conn.run_sync(_error_index)).replace("(", "").replace(
                ")", ""
            )
            assert await conn.run_sync(_tables) == {
                "api_keys",
                "usage_ledger",
                "usage_daily",
                "usage_daily_models",
                "usage_monthly_keys",
                "console_sessions",
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


def _upgrade_to(connection: Connection, revision: str) -> None:
    from alembic import command

    from opentoken.stores.sql.migrate import alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_console_revision_backfills_rollups_from_existing_rows(sql_url: str) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import text

    from opentoken.stores.base import RequestQuery, RollupQuery, UsageQuery
    from opentoken.stores.sql.migrate import upgrade

    db = parse_database_url(sql_url)
    engine = create_engine(db)
    sqlite = db.dialect == "sqlite"
    try:
        async with engine.begin() as conn:
            if not sqlite:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            await conn.run_sync(_upgrade_to, "0001")
            t0 = datetime(2025, 1, 31, 22, tzinfo=UTC)
            for i in range(30):
                at = t0 + timedelta(hours=i)
                await conn.execute(
                    text(
                        "INSERT INTO usage_ledger (request_id, key_id, model, provider, upstream_model, created_at,"
                        " status, stream, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,"
                        " reasoning_tokens, cost, cost_input, cost_cache_read, cost_cache_write, cost_output,"
                        " cost_reasoning, error_code, latency_ms, ttft_ms, attempts) VALUES (:r, :k, 'm/x', 'm',"
                        " 'x', :at, :status, false, 10, 1, 2, 5, 3, :cost, 0, 0, 0, 0, 0, :err, 1.0, NULL, 1)"
                    ),
                    {
                        "r": f"req_{i}",
                        "k": f"key_{i % 2}",
                        "at": at.replace(tzinfo=None).isoformat(sep=" ") if sqlite else at,
                        "status": 500 if i % 10 == 0 else 200,
                        "err": "upstream_error" if i % 10 == 0 else None,
                        "cost": 1000 + i if sqlite else Decimal(1000 + i).scaleb(-9),
                    },
                )
        await upgrade(engine, db.schema)
    finally:
        await engine.dispose()
    stores = await open_stores(sql_url, migrate=True)
    try:
        for group_by in [("day",), ("key", "day"), ()]:
            assert await stores.ledger.rollup(RollupQuery(group_by=group_by)) == await stores.ledger.usage(  # type: ignore[arg-type]
                UsageQuery(group_by=group_by)  # type: ignore[arg-type]
            )
        (total,) = await stores.ledger.rollup(RollupQuery())
        assert (total.requests, total.errors, total.cost) == (30, 3, Decimal(sum(range(1000, 1030))).scaleb(-9))
        assert [r.group["key"] for r in await stores.ledger.top_keys("2025-02", 5)] == ["key_1", "key_0"]
        (old,) = await stores.ledger.page(RequestQuery(limit=1, model="m/x", key_id="key_1"))
        assert old.ingress == "openai_chat" and old.deployments_tried == () and old.deployment is None
    finally:
        await stores.close()
