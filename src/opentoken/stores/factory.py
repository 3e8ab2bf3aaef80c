"""Open the stores named by a database URL: ``memory://``, ``sqlite:///PATH`` or ``postgresql://...``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from opentoken.stores.base import KeyStore, Ledger, ReplayStore
from opentoken.stores.memory import MemoryKeyStore, MemoryLedger, MemoryReplayStore
from opentoken.stores.sql import SqlKeyStore, SqlLedger, SqlReplayStore
from opentoken.stores.sql.engine import create_engine, parse_database_url
from opentoken.stores.sql.migrate import check_current, upgrade

Backend = Literal["memory", "sqlite", "postgresql"]
MEMORY_URL = "memory://"


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class Stores:
    keys: KeyStore
    ledger: Ledger
    replay: ReplayStore
    backend: Backend = "memory"
    _close: Callable[[], Awaitable[None]] = field(default=_nothing, repr=False)

    async def close(self) -> None:
        await self._close()


def memory_stores() -> Stores:
    return Stores(MemoryKeyStore(), MemoryLedger(), MemoryReplayStore(), backend="memory")


async def open_stores(database_url: str, migrate: bool) -> Stores:
    """Open the stores at ``database_url``.

    SQLite is migrated on every open (one process, no setup). PostgreSQL is migrated only when ``migrate``
    is true; otherwise its schema must already be current (``opentoken migrate``), or ``SchemaNotCurrent``
    is raised, so replicas never start against a schema they do not understand.
    """
    if database_url.strip() == MEMORY_URL:
        return memory_stores()
    db = parse_database_url(database_url)
    engine = create_engine(db)
    try:
        if migrate or db.dialect == "sqlite":
            await upgrade(engine, db.schema)
        else:
            await check_current(engine)
    except BaseException:
        await engine.dispose()
        raise
    backend: Backend = "sqlite" if db.dialect == "sqlite" else "postgresql"
    ledger = SqlLedger(engine)

    async def close() -> None:
        await ledger.close()
        await engine.dispose()

    return Stores(SqlKeyStore(engine), ledger, SqlReplayStore(engine), backend=backend, _close=close)


async def run_migrations(database_url: str) -> str:
    """Bring the database to the newest schema (``opentoken migrate``); returns the revision reached."""
    if database_url.strip() == MEMORY_URL:
        return "memory"
    db = parse_database_url(database_url)
    engine = create_engine(db)
    try:
        return await upgrade(engine, db.schema)
    finally:
        await engine.dispose()
