"""Ledger in a list. Appends are idempotent by request id, like the SQL ledger. The rollup reads group the
records themselves (the memory backend holds a test's worth of rows, not a production ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from opentoken.stores.base import RequestQuery, RollupQuery, UsageQuery, UsageRecord, UsageRow
from opentoken.stores.memory.utc import times_in_utc


def is_error(rec: UsageRecord) -> bool:
    return rec.is_error


def _day(rec: UsageRecord) -> str:
    return rec.created_at.astimezone(UTC).strftime("%Y-%m-%d")


def _in_rollup(rec: UsageRecord, query: RollupQuery) -> bool:
    day = _day(rec)
    return (
        (query.key_id is None or rec.key_id == query.key_id)
        and (query.model is None or rec.model == query.model)
        and (query.provider is None or rec.provider == query.provider)
        and (query.since is None or day >= query.since.isoformat())
        and (query.until is None or day < query.until.isoformat())
    )


def _in_page(rec: UsageRecord, query: RequestQuery) -> bool:
    if query.before is not None and (rec.created_at, rec.request_id) >= query.before:
        return False
    return (
        (query.key_id is None or rec.key_id == query.key_id)
        and (query.model is None or rec.model == query.model)
        and (query.status is None or rec.status == query.status)
        and (query.errors is None or (rec.error_code is not None) == query.errors)
        and (query.error_code is None or rec.error_code == query.error_code)
        and (query.since is None or rec.created_at >= query.since)
        and (query.until is None or rec.created_at < query.until)
    )


def group_value(rec: UsageRecord, name: str) -> str:
    if name == "key":
        return rec.key_id
    if name == "model":
        return rec.model
    if name == "provider":
        return rec.provider
    if name == "day":
        return rec.created_at.astimezone(UTC).strftime("%Y-%m-%d")
    raise ValueError(f"unknown usage grouping {name!r}")


def matches(rec: UsageRecord, query: UsageQuery) -> bool:
    return (
        (query.key_id is None or rec.key_id == query.key_id)
        and (query.model is None or rec.model == query.model)
        and (query.provider is None or rec.provider == query.provider)
        and (query.since is None or rec.created_at >= query.since)
        and (query.until is None or rec.created_at < query.until)
    )


def _total(group: dict[str, str], records: Sequence[UsageRecord]) -> UsageRow:
    return UsageRow(
        group=group,
        requests=len(records),
        input_tokens=sum(r.input_tokens for r in records),
        cache_read_tokens=sum(r.cache_read_tokens for r in records),
        cache_write_tokens=sum(r.cache_write_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        reasoning_tokens=sum(r.reasoning_tokens for r in records),
        cost=sum((r.cost for r in records), Decimal(0)),
        errors=sum(1 for r in records if is_error(r)),
    )


class MemoryLedger:
    def __init__(self) -> None:
        self._records: list[UsageRecord] = []
        self._ids: set[str] = set()

    async def append_many(self, records: Sequence[UsageRecord]) -> None:
        for rec in records:
            if rec.request_id not in self._ids:
                self._ids.add(rec.request_id)
                self._records.append(times_in_utc(rec))

    async def spend(self, key_id: str, since: datetime | None) -> Decimal:
        return sum(
            (r.cost for r in self._records if r.key_id == key_id and (since is None or r.created_at >= since)),
            Decimal(0),
        )

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        return self._grouped([r for r in self._records if matches(r, query)], query.group_by)

    async def recent(self, limit: int = 100, key_id: str | None = None) -> list[UsageRecord]:
        ordered = sorted(
            ((r.created_at, i, r) for i, r in enumerate(self._records) if key_id in (None, r.key_id)),
            key=lambda t: (t[0], t[1]),
            reverse=True,
        )
        return [r for _, _, r in ordered[:limit]]

    async def count(self) -> int:
        return len(self._records)

    def _grouped(self, records: list[UsageRecord], group_by: Sequence[str]) -> list[UsageRow]:
        if not group_by:
            return [_total({}, records)]
        groups: dict[tuple[str, ...], list[UsageRecord]] = {}
        for rec in records:
            groups.setdefault(tuple(group_value(rec, g) for g in group_by), []).append(rec)
        return [_total(dict(zip(group_by, values, strict=True)), groups[values]) for values in sorted(groups)]

    async def rollup(self, query: RollupQuery) -> list[UsageRow]:
        return self._grouped([r for r in self._records if _in_rollup(r, query)], query.group_by)

    async def top_keys(self, month: str, limit: int) -> list[UsageRow]:
        rows = self._grouped([r for r in self._records if _day(r)[:7] == month], ("key",))
        return sorted(rows, key=lambda row: (-row.cost, row.group["key"]))[:limit]

    async def page(self, query: RequestQuery) -> list[UsageRecord]:
        found = [r for r in self._records if _in_page(r, query)]
        found.sort(key=lambda r: (r.created_at, r.request_id), reverse=True)
        return found[: query.limit]

    async def get(self, request_id: str) -> UsageRecord | None:
        return next((r for r in self._records if r.request_id == request_id), None)
