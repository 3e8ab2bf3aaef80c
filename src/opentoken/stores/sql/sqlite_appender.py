"""Ledger appends on SQLite through one plain ``sqlite3`` connection on one writer thread.

The ledger append is on every response's path (a reply waits until its usage row is durable), and on SQLite
most of its cost was SQLAlchemy's execution machinery and aiosqlite's per-call thread hops, not SQLite. This
appender writes the same rows: values go through the columns' own SQLAlchemy bind processors (so money is
stored as nano-dollar integers and times as naive-UTC text exactly as the SQLAlchemy path stores them), in
one ``BEGIN IMMEDIATE`` / ``executemany`` / ``COMMIT`` per group commit, idempotent by request id. The
connection uses WAL and ``synchronous=NORMAL`` like the engine's, so a committed row survives ``kill -9``.
Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Dialect

from opentoken.stores.base import UsageRecord
from opentoken.stores.sql.engine import SQLITE_BUSY_TIMEOUT_MS
from opentoken.stores.sql.schema import usage_ledger


class SqliteAppender:
    def __init__(self, path: str, dialect: Dialect) -> None:
        columns = [c for c in usage_ledger.columns if c.name != "id"]
        self._names = [c.name for c in columns]
        self._processors: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        marks = ", ".join("?" for _ in columns)
        self._sql = (
            f"INSERT INTO {usage_ledger.name} ({', '.join(self._names)}) VALUES ({marks}) "
            "ON CONFLICT (request_id) DO NOTHING"
        )
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="opentoken-ledger")
        self._conn: sqlite3.Connection | None = None

    def _row(self, rec: UsageRecord) -> tuple[Any, ...]:
        return tuple(
            proc(getattr(rec, name)) if proc is not None else getattr(rec, name)
            for name, proc in zip(self._names, self._processors, strict=True)
        )

    async def append(self, records: Sequence[UsageRecord]) -> None:
        rows = [self._row(rec) for rec in records]
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write, rows)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            self._conn = conn
        return self._conn

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(self._sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
