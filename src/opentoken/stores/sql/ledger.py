"""Ledger on SQL. Appends are idempotent by request id (INSERT ... ON CONFLICT DO NOTHING), so a batch that
is retried after an unclear failure never counts a request twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.base import UsageQuery, UsageRecord, UsageRow
from opentoken.stores.sql.dialect import upsert_insert
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import Money, usage_ledger, utc_day
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
        stmt = upsert_insert(self._engine.dialect.name, usage_ledger).on_conflict_do_nothing(
            index_elements=[_t.request_id]
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(stmt, [{name: getattr(rec, name) for name in _FIELDS} for rec in records])

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

    async def count(self) -> int:
        async with read_connection(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(usage_ledger))).scalar_one())
