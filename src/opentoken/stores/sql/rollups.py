"""Per-day rollups of the usage ledger, kept in the ledger's own transaction.

Every ledger append adds the rows it actually inserted (appends are idempotent by request id, so a record
already in the ledger adds nothing) to three rollup tables (``schema.usage_daily``, ``usage_daily_models``,
``usage_monthly_keys``). The console's charts and totals read only these tables, never the ledger rows.

The upserts of one append go table by table in primary-key order, so two concurrent appends on PostgreSQL
take their row locks in the same order and cannot deadlock. ``rebuild_statements`` recomputes all three
tables from the ledger (the migration that created them runs the same SQL as a backfill; the benchmark uses
it after a bulk load).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from opentoken.stores.base import UsageRecord
from opentoken.stores.sql.dialect import upsert_insert
from opentoken.stores.sql.schema import usage_daily, usage_daily_models, usage_monthly_keys

TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
COUNTERS = ("requests", *TOKENS, "cost", "errors")
TABLES: tuple[Table, ...] = (usage_daily, usage_daily_models, usage_monthly_keys)


@dataclass(slots=True)
class Sums:
    requests: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = Decimal(0)
    errors: int = 0

    def add(self, rec: UsageRecord) -> None:
        self.requests += 1
        self.input_tokens += rec.input_tokens
        self.cache_read_tokens += rec.cache_read_tokens
        self.cache_write_tokens += rec.cache_write_tokens
        self.output_tokens += rec.output_tokens
        self.reasoning_tokens += rec.reasoning_tokens
        self.cost += rec.cost
        self.errors += 1 if rec.is_error else 0

    def row(self) -> tuple[Any, ...]:
        """The counters, in the order of ``COUNTERS``."""
        return tuple(getattr(self, name) for name in COUNTERS)


def _keys(rec: UsageRecord) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    day = rec.created_at.astimezone(UTC).strftime("%Y-%m-%d")
    return (rec.key_id, day, rec.model, rec.provider), (day, rec.model, rec.provider), (day[:7], rec.key_id)


def first_of_each(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The records with duplicate request ids dropped (the ledger keeps the first)."""
    seen: set[str] = set()
    out = []
    for rec in records:
        if rec.request_id not in seen:
            seen.add(rec.request_id)
            out.append(rec)
    return out


def _sums(records: Iterable[UsageRecord]) -> tuple[dict[tuple[str, ...], Sums], ...]:
    sums: tuple[dict[tuple[str, ...], Sums], ...] = ({}, {}, {})
    for rec in records:
        for table_sums, key in zip(sums, _keys(rec), strict=True):
            found = table_sums.get(key)
            if found is None:
                found = table_sums[key] = Sums()
            found.add(rec)
    return sums


def columns(table: Table) -> tuple[str, ...]:
    """A rollup row's columns, in the order of ``delta_tuples``: the primary key, then ``COUNTERS``."""
    return (*(c.name for c in table.primary_key.columns), *COUNTERS)


def delta_tuples(records: Iterable[UsageRecord]) -> list[tuple[Table, list[tuple[Any, ...]]]]:
    """What ``records`` (each new to the ledger) add to each rollup table: rows in the order of ``columns``,
    sorted by primary key."""
    out = []
    for table, table_sums in zip(TABLES, _sums(records), strict=True):
        rows = [(*key, *s.row()) for key, s in sorted(table_sums.items())]
        if rows:
            out.append((table, rows))
    return out


def deltas(records: Iterable[UsageRecord]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """``delta_tuples`` as rows by column name (for SQLAlchemy's statements)."""
    return [
        (table, [dict(zip(columns(table), row, strict=True)) for row in rows]) for table, rows in delta_tuples(records)
    ]


def sqlite_upsert(table: Table) -> str:
    """``INSERT ... ON CONFLICT DO UPDATE`` adding to the counters, with sqlite3's ``?`` placeholders."""
    keys = [c.name for c in table.primary_key.columns]
    names = columns(table)
    marks = ", ".join("?" for _ in names)
    adds = ", ".join(f"{n} = {table.name}.{n} + excluded.{n}" for n in COUNTERS)
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adds}"
    )


async def add(conn: AsyncConnection, records: Sequence[UsageRecord]) -> None:
    """Add ``records`` (already inserted in this transaction, each for the first time) to the rollups."""
    for table, rows in deltas(records):
        stmt = upsert_insert(conn.dialect.name, table)
        keys = list(table.primary_key.columns)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={n: table.c[n] + stmt.excluded[n] for n in COUNTERS}
        )
        await conn.execute(stmt, rows)


def _day_sql(dialect: str) -> str:
    if dialect == "sqlite":
        return "substr(created_at, 1, 10)"
    return "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def rebuild_statements(dialect: str) -> list[str]:
    """SQL that empties the rollups and recomputes them from every ledger row."""
    sums = ", ".join(f"sum({n})" for n in TOKENS)
    error = "sum(CASE WHEN error_code IS NOT NULL OR status >= 400 THEN 1 ELSE 0 END)"
    counters = ", ".join(COUNTERS)
    resum = ", ".join(f"sum({n})" for n in COUNTERS)
    return [
        "DELETE FROM usage_daily",
        "DELETE FROM usage_daily_models",
        "DELETE FROM usage_monthly_keys",
        f"INSERT INTO usage_daily (key_id, day, model, provider, {counters}) "
        f"SELECT key_id, {_day_sql(dialect)}, model, provider, count(*), {sums}, sum(cost), {error} "
        f"FROM usage_ledger GROUP BY key_id, {_day_sql(dialect)}, model, provider",
        f"INSERT INTO usage_daily_models (day, model, provider, {counters}) "
        f"SELECT day, model, provider, {resum} FROM usage_daily GROUP BY day, model, provider",
        f"INSERT INTO usage_monthly_keys (month, key_id, {counters}) "
        f"SELECT substr(day, 1, 7), key_id, {resum} FROM usage_daily GROUP BY substr(day, 1, 7), key_id",
    ]
