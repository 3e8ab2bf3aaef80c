"""Ledger appends on SQLite through one plain ``sqlite3`` connection on one writer thread.

The ledger append is on every response's path (a reply waits until its usage row is durable), and on SQLite
most of its cost was SQLAlchemy's execution machinery and aiosqlite's per-call thread hops, not SQLite. This
appender writes the same rows: values go through the columns' own SQLAlchemy bind processors (so money is
stored as nano-dollar integers and times as naive-UTC text exactly as the SQLAlchemy path stores them), in
one ``BEGIN IMMEDIATE`` / ``executemany`` / ``COMMIT`` per group commit, idempotent by request id. The
connection uses WAL and ``synchronous=NORMAL`` like the engine's, so a committed row survives ``kill -9``.
WAL checkpoints are taken off the commit path: the writer's connection does not checkpoint automatically
(the commit that crossed SQLite's threshold used to take 6-7 ms), and a background task runs a PASSIVE
checkpoint on its own connection every ``CHECKPOINT_SECONDS``. Measured in docs/benchmarks.md.

The same transaction adds the rows it inserted to the per-day rollups (``rollups.py``): the rollup rows are
computed on the event loop; the writer thread first asks which request ids the ledger already holds (none,
except when a batch is retried) and, only then, recomputes them from the new records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Dialect

from opentoken.stores.base import UsageRecord
from opentoken.stores.sql import rollups
from opentoken.stores.sql.engine import SQLITE_BUSY_TIMEOUT_MS
from opentoken.stores.sql.schema import Money, usage_ledger

Rollup = list[tuple[str, list[tuple[Any, ...]]]]  # (upsert SQL, rows) per rollup table

CHECKPOINT_SECONDS = 1.0


class SqliteAppender:
    def __init__(self, path: str, dialect: Dialect) -> None:
        columns = [c for c in usage_ledger.columns if c.name != "id"]
        self._names = [c.name for c in columns]
        self._values = operator.attrgetter(*self._names)  # a record's values in column order, in one call
        processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, proc) for i, proc in enumerate(processors) if proc is not None
        ]
        marks = ", ".join("?" for _ in columns)
        self._sql = (
            f"INSERT INTO {usage_ledger.name} ({', '.join(self._names)}) VALUES ({marks}) "
            "ON CONFLICT (request_id) DO NOTHING"
        )
        self._money = Money().dialect_impl(dialect).bind_processor(dialect)
        self._upserts = {  # per rollup table: its upsert, and where the cost is in its rows
            table.name: (rollups.sqlite_upsert(table), rollups.columns(table).index("cost")) for table in rollups.TABLES
        }
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="opentoken-ledger")
        self._conn: sqlite3.Connection | None = None
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="opentoken-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    def _row(self, rec: UsageRecord) -> list[Any]:
        row = list(self._values(rec))
        for i, proc in self._processors:
            row[i] = proc(row[i])
        return row

    def _rollup(self, records: Sequence[UsageRecord]) -> Rollup:
        out = []
        money = self._money
        for table, rows in rollups.delta_tuples(rollups.first_of_each(records)):
            sql, i = self._upserts[table.name]
            if money is not None:
                rows = [(*row[:i], money(row[i]), *row[i + 1 :]) for row in rows]
            out.append((sql, rows))
        return out

    async def append(self, records: Sequence[UsageRecord]) -> None:
        rows = [self._row(rec) for rec in records]
        loop = asyncio.get_running_loop()
        if self._checkpoints is None:
            self._checkpoints = loop.create_task(self._checkpoint_loop())
        await loop.run_in_executor(self._executor, self._write, records, rows, self._rollup(records))

    async def _checkpoint_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await loop.run_in_executor(self._checkpointer, self._checkpoint)
            except sqlite3.Error as e:  # a busy database: the next round checkpoints
                logging.getLogger("opentoken.ledger").debug("WAL checkpoint skipped: %s", e)

    def _checkpoint(self) -> None:
        if self._checkpoint_conn is None:
            self._checkpoint_conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._checkpoint_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            self._conn = conn
        return self._conn

    def _write(self, records: Sequence[UsageRecord], rows: list[list[Any]], rollup: Rollup) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            marks = ", ".join("?" for _ in records)
            held = conn.execute(
                f"SELECT request_id FROM {usage_ledger.name} WHERE request_id IN ({marks})",
                [rec.request_id for rec in records],
            ).fetchall()
            if held:  # a retried batch: only the records the ledger does not hold yet count
                known = {row[0] for row in held}
                rollup = self._rollup([rec for rec in records if rec.request_id not in known])
            conn.executemany(self._sql, rows)
            for sql, values in rollup:
                conn.executemany(sql, values)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._conn.close()
            self._conn = None

    def _close_checkpointer(self) -> None:
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpointer, self._close_checkpointer)
        await loop.run_in_executor(self._executor, self._close)
        self._checkpointer.shutdown(wait=True)
        self._executor.shutdown(wait=True)
