"""Ledger on SQL. Appends are idempotent by request id (INSERT ... ON CONFLICT DO NOTHING), so a batch that
is retried after an unclear failure never counts a request twice. The same transaction adds the rows it
inserted to the per-day rollups (``rollups.py``), which ``rollup`` and ``top_keys`` read; ``page`` reads the
request log newest first by keyset over the (created_at, request_id) indexes, never with OFFSET."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, Select, Table, and_, case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.base import RequestQuery, RollupQuery, UsageQuery, UsageRecord, UsageRow
from opentoken.stores.sql import rollups
from opentoken.stores.sql.dialect import upsert_insert
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import (
    Money,
    usage_daily,
    usage_daily_models,
    usage_ledger,
    usage_monthly_keys,
    utc_day,
)
from opentoken.stores.sql.sqlite_appender import SqliteAppender

_t = usage_ledger.c
_FIELDS = tuple(f.name for f in fields(UsageRecord))
_TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
_GROUPS: dict[str, ColumnElement[str]] = {
    "key": _t.key_id,
    "model": _t.model,
    "provider": _t.provider,
    "day": utc_day(_t.created_at),
}


def _record(row: Row[Any]) -> UsageRecord:
    values = dict(row._mapping)
    del values["id"]
    return UsageRecord(**values)


def _filters(query: UsageQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.key_id is not None:
        conditions.append(_t.key_id == query.key_id)
    if query.model is not None:
        conditions.append(_t.model == query.model)
    if query.provider is not None:
        conditions.append(_t.provider == query.provider)
    if query.since is not None:
        conditions.append(_t.created_at >= query.since)
    if query.until is not None:
        conditions.append(_t.created_at < query.until)
    return conditions


def _money_sum(column: ColumnElement[Decimal]) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(column), 0), Money())


def _int_sum(column: ColumnElement[int]) -> ColumnElement[int]:
    return type_coerce(func.coalesce(func.sum(column), 0), Integer())


def _usage_row(row: Any, groups: Sequence[str]) -> UsageRow:
    return UsageRow(
        group={name: row._mapping[f"g_{name}"] for name in groups},
        requests=int(row.requests),
        input_tokens=int(row.input_tokens),
        cache_read_tokens=int(row.cache_read_tokens),
        cache_write_tokens=int(row.cache_write_tokens),
        output_tokens=int(row.output_tokens),
        reasoning_tokens=int(row.reasoning_tokens),
        cost=Decimal(row.cost),
        errors=int(row.errors),
    )


def _rollup_sums(table: Table) -> list[ColumnElement[Any]]:
    return [
        _int_sum(table.c.requests).label("requests"),
        *(_int_sum(table.c[n]).label(n) for n in _TOKENS),
        _money_sum(table.c.cost).label("cost"),
        _int_sum(table.c.errors).label("errors"),
    ]


def _rollup_select(query: RollupQuery) -> Select[Any]:
    """Across keys the small per-(day, model, provider) table answers; per key, the per-key one."""
    table = usage_daily if query.key_id is not None or "key" in query.group_by else usage_daily_models
    c = table.c
    names = {"key": "key_id", "model": "model", "provider": "provider", "day": "day"}
    groups = [c[names[g]].label(f"g_{g}") for g in query.group_by]
    conditions: list[ColumnElement[bool]] = []
    if query.key_id is not None:
        conditions.append(c.key_id == query.key_id)
    if query.model is not None:
        conditions.append(c.model == query.model)
    if query.provider is not None:
        conditions.append(c.provider == query.provider)
    if query.since is not None:
        conditions.append(c.day >= query.since.isoformat())
    if query.until is not None:
        conditions.append(c.day < query.until.isoformat())
    stmt = select(*groups, *_rollup_sums(table)).where(*conditions)
    return stmt.group_by(*groups).order_by(*groups) if groups else stmt


def _page_select(query: RequestQuery) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if query.key_id is not None:
        conditions.append(_t.key_id == query.key_id)
    if query.model is not None:
        conditions.append(_t.model == query.model)
    if query.status is not None:
        conditions.append(_t.status == query.status)
        if query.status >= 400:
            conditions.append(_t.error_code.is_not(None))  # every error status carries a code: the errors index
    if query.errors is True or query.error_code is not None:
        conditions.append(_t.error_code.is_not(None))
    elif query.errors is False:
        conditions.append(_t.error_code.is_(None))
    if query.error_code is not None:
        conditions.append(_t.error_code == query.error_code)
    if query.since is not None:
        conditions.append(_t.created_at >= query.since)
    if query.until is not None:
        conditions.append(_t.created_at < query.until)
    if query.before is not None:
        at, request_id = query.before
        # a range on created_at (so the index seeks) plus the tie-break on request_id
        conditions.append(and_(_t.created_at <= at, or_(_t.created_at < at, _t.request_id < request_id)))
    return (
        select(usage_ledger).where(*conditions).order_by(_t.created_at.desc(), _t.request_id.desc()).limit(query.limit)
    )


class SqlLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._appender: SqliteAppender | None = None
        if engine.dialect.name == "sqlite" and engine.url.database:
            self._appender = SqliteAppender(engine.url.database, engine.dialect)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()

    async def append_many(self, records: Sequence[UsageRecord]) -> None:
        if not records:
            return
        if self._appender is not None:
            await self._appender.append(records)
            return
        values = [{name: getattr(rec, name) for name in _FIELDS} for rec in records]
        stmt = (
            upsert_insert(self._engine.dialect.name, usage_ledger)
            .on_conflict_do_nothing(index_elements=[_t.request_id])
            .returning(_t.request_id)
        )
        async with write_transaction(self._engine) as conn:
            # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
            inserted = {row[0] for row in await conn.execute(stmt, values)}
            await rollups.add(conn, [r for r in rollups.first_of_each(records) if r.request_id in inserted])

    async def spend(self, key_id: str, since: datetime | None) -> Decimal:
        stmt = select(_money_sum(_t.cost)).where(_t.key_id == key_id)
        if since is not None:
            stmt = stmt.where(_t.created_at >= since)
        async with read_connection(self._engine) as conn:
            total = (await conn.execute(stmt)).scalar_one()
        return Decimal(total)

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        groups = [_GROUPS[name].label(f"g_{name}") for name in query.group_by]
        errors = func.sum(case((or_(_t.error_code.is_not(None), _t.status >= 400), 1), else_=0))
        stmt = select(
            *groups,
            func.count().label("requests"),
            *(type_coerce(func.coalesce(func.sum(_t[n]), 0), Integer()).label(n) for n in _TOKENS),
            _money_sum(_t.cost).label("cost"),
            type_coerce(func.coalesce(errors, 0), Integer()).label("errors"),
        ).where(*_filters(query))
        if groups:
            stmt = stmt.group_by(*groups).order_by(*groups)
        async with read_connection(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            UsageRow(
                group={name: row._mapping[f"g_{name}"] for name in query.group_by},
                requests=row.requests,
                input_tokens=int(row.input_tokens),
                cache_read_tokens=int(row.cache_read_tokens),
                cache_write_tokens=int(row.cache_write_tokens),
                output_tokens=int(row.output_tokens),
                reasoning_tokens=int(row.reasoning_tokens),
                cost=Decimal(row.cost),
                errors=int(row.errors),
            )
            for row in rows
        ]

    async def recent(self, limit: int = 100, key_id: str | None = None) -> list[UsageRecord]:
        stmt = select(usage_ledger).order_by(_t.created_at.desc(), _t.id.desc()).limit(limit)
        if key_id is not None:
            stmt = stmt.where(_t.key_id == key_id)
        async with read_connection(self._engine) as conn:
            return [_record(row) for row in await conn.execute(stmt)]

    async def rollup(self, query: RollupQuery) -> list[UsageRow]:
        async with read_connection(self._engine) as conn:
            rows = (await conn.execute(_rollup_select(query))).all()
        return [_usage_row(row, query.group_by) for row in rows]

    async def top_keys(self, month: str, limit: int) -> list[UsageRow]:
        c = usage_monthly_keys.c
        stmt = (
            select(c.key_id.label("g_key"), c.requests, *(c[n] for n in _TOKENS), c.cost, c.errors)
            .where(c.month == month)
            .order_by(c.cost.desc(), c.key_id)
            .limit(limit)
        )
        async with read_connection(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_usage_row(row, ("key",)) for row in rows]

    async def page(self, query: RequestQuery) -> list[UsageRecord]:
        async with read_connection(self._engine) as conn:
            return [_record(row) for row in await conn.execute(_page_select(query))]

    async def get(self, request_id: str) -> UsageRecord | None:
        async with read_connection(self._engine) as conn:
            row = (await conn.execute(select(usage_ledger).where(_t.request_id == request_id))).first()
        return None if row is None else _record(row)

    async def count(self) -> int:
        async with read_connection(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(usage_ledger))).scalar_one())
