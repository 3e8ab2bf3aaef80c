"""One store suite, every backend: memory, SQLite (a temp file) and PostgreSQL on 127.0.0.1:5432.

Each PostgreSQL test runs in a schema of its own (created by the migrations, dropped afterwards), so parallel
runs do not clash. Without a server the PostgreSQL cases skip locally but fail under CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from opentoken.stores.factory import Stores, open_stores

PG_DSN = os.environ.get("OPENTOKEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["memory", "sqlite", "postgresql"]


async def _pg_available() -> str | None:
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as e:
        return f"PostgreSQL at {PG_DSN} unavailable: {e}"
    await conn.close()
    return None


async def require_postgres() -> None:
    problem = await _pg_available()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{problem} (CI is set: PostgreSQL tests must run)")
    pytest.skip(problem)


def pg_schema_url(schema: str) -> str:
    return f"{PG_DSN}?options=-csearch_path%3D{schema}"


async def drop_pg_schema(schema: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def new_pg_schema() -> str:
    return f"ot_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"


async def database_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    """URL for a fresh database of ``backend`` and, for PostgreSQL, the schema to drop afterwards."""
    if backend == "memory":
        return "memory://", None
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'stores.db'}", None
    await require_postgres()
    schema = new_pg_schema()
    return pg_schema_url(schema), schema


@pytest.fixture(params=BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    url, schema = await database_url(request.param, tmp_path)
    opened = await open_stores(url, migrate=True)
    try:
        yield opened
    finally:
        await opened.close()
        if schema is not None:
            await drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty SQL database (nothing migrated yet)."""
    url, schema = await database_url(request.param, tmp_path)
    try:
        yield url
    finally:
        if schema is not None:
            await drop_pg_schema(schema)
