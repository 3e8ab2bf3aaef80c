"""Database URLs, async engines and transactions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite durability: every connection runs ``journal_mode=WAL`` and ``synchronous=NORMAL``. A commit then
appends the transaction to the WAL file with ``write()``, and the WAL is fsynced only at checkpoints. Once
``write()`` has returned the data belongs to the kernel's page cache, so killing the process (even with
``kill -9``) right after a commit loses nothing: the next opener replays the WAL. Only an operating-system
crash or power loss can drop the last few commits (the database stays consistent). Surviving power loss as
well would need ``synchronous=FULL`` (an fsync per commit); group commit in the ledger writer would keep
that affordable, but the gateway's promise is about the process, so NORMAL is the default.

Writes on SQLite begin with ``BEGIN IMMEDIATE`` so that a read-then-write transaction takes the write lock
up front and waits (``busy_timeout``) instead of failing with SQLITE_BUSY when another writer commits
first. PostgreSQL runs at READ COMMITTED with ``synchronous_commit`` as configured on the server (on by
default: durable at commit).
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "opentoken_write"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A database URL turned into what the async engine needs."""

    url: URL
    server_settings: dict[str, str]  # PostgreSQL settings from a libpq ``options=-c name=value`` parameter

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def schema(self) -> str | None:
        """First schema of a ``search_path`` given in the URL (created by migrations if missing)."""
        path = self.server_settings.get("search_path")
        return path.split(",")[0].strip().strip('"') or None if path else None


def parse_database_url(database_url: str) -> DatabaseURL:
    """Accept ``sqlite:///path``, ``postgresql://...`` (or the async driver names) and pick the async driver.

    PostgreSQL URLs may carry libpq's ``options`` parameter (``?options=-csearch_path%3Dmyschema``); its
    ``-c name=value`` settings are sent as server settings, so several deployments can share one database.
    """
    url = make_url(database_url)
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(f"unsupported database URL scheme {url.drivername!r}: use sqlite:///PATH or postgresql://...")
    url = url.set(drivername=driver)
    settings: dict[str, str] = {}
    if driver.startswith("postgresql") and "options" in url.query:
        settings = _server_settings(str(url.query["options"]))
        url = url.difference_update_query(["options"])
    if driver.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise ValueError("in-memory SQLite is not supported; use memory:// or sqlite:///PATH")
    return DatabaseURL(url, settings)


def _server_settings(options: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    words = shlex.split(options)
    for i, word in enumerate(words):
        setting = word[2:] if word.startswith("-c") and len(word) > 2 else None
        if word == "-c" and i + 1 < len(words):
            setting = words[i + 1]
        if setting is not None:
            name, _, value = setting.partition("=")
            settings[name.strip()] = value.strip()
    return settings


def create_engine(db: DatabaseURL) -> AsyncEngine:
    if db.dialect == "sqlite":
        Path(db.url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(db.url, pool_size=5, max_overflow=10)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {"server_settings": db.server_settings} if db.server_settings else {}
    return create_async_engine(db.url, pool_size=10, max_overflow=20, pool_recycle=1800, connect_args=connect_args)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: commits on success, rolls back on error."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_WRITE_OPTION: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield conn
