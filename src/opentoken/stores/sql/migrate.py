"""Schema migrations (Alembic), run programmatically on an async engine.

Alembic is imported only when a database is not at ``HEAD_REVISION`` (one SQL query tells), so a gateway
starting on a current schema does not load it (about 11 MB of resident memory). ``HEAD_REVISION`` is checked
against Alembic's own view of the migration scripts by the test suite.

``upgrade`` brings a database to the newest revision inside one transaction (transactional DDL on both
SQLite and PostgreSQL). Concurrent upgraders are serialised: SQLite by ``BEGIN IMMEDIATE``, PostgreSQL by
a transaction-scoped advisory lock, so replicas starting together are safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0005"  # the newest file in migrations/versions (a test keeps this in step with Alembic)
_ADVISORY_LOCK_ID = 0x6F70656E746F6B  # "opentok"


class SchemaNotCurrent(RuntimeError):
    """The database schema is behind this release (or unknown to it); run ``opentoken migrate``."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


async def _stored_revision(engine: AsyncEngine) -> str | None:
    """The revision recorded in the database, read with plain SQL (None when there is no version table)."""
    try:
        async with read_connection(engine) as conn:
            return (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar_one_or_none()
    except DBAPIError:
        return None


async def upgrade(engine: AsyncEngine, schema: str | None = None) -> str:
    """Migrate to the newest revision and return it. ``schema`` (PostgreSQL) is created if missing."""
    if await _stored_revision(engine) == HEAD_REVISION:
        return HEAD_REVISION
    async with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            if schema:
                quoted = engine.dialect.identifier_preparer.quote_identifier(schema)
                await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
        await conn.run_sync(_upgrade)
    return head_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with read_connection(engine) as conn:
        return await conn.run_sync(_current)


async def check_current(engine: AsyncEngine) -> None:
    """Raise ``SchemaNotCurrent`` unless the database is at ``HEAD_REVISION`` (plain SQL: no Alembic import, so
    replicas and the workers of ``serve --workers N`` do not carry it in memory)."""
    current = await _stored_revision(engine)
    if current != HEAD_REVISION:
        raise SchemaNotCurrent(
            f"database schema is at revision {current or 'none'} but this release needs {HEAD_REVISION}:"
            " run `opentoken migrate`"
        )
