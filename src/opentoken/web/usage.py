"""Usage pages, read from the per-day rollups only: the key holder's overview, the operator's overview and
usage page, and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from opentoken.limits.periods import current_period
from opentoken.stores.base import ApiKey, Ledger, RollupGroup, RollupQuery, UsageRow
from opentoken.web import charts
from opentoken.web.console import CHART_DAYS, Console, chart_window, today
from opentoken.web.i18n import N_
from opentoken.web.render import exact
from opentoken.web.session import Viewer

GROUPS: dict[str, str] = {"day": N_("Day"), "model": N_("Model"), "provider": N_("Provider"), "key": N_("Key")}
TOP_KEYS = 10


@dataclass(frozen=True, slots=True)
class Summary:
    since: date
    until: date
    total: UsageRow
    spend: charts.Chart
    tokens: charts.Chart
    per_day: list[UsageRow]
    per_model: list[charts.Share]
    per_provider: list[charts.Share]


async def summary(ledger: Ledger, since: date, until: date, key_id: str | None = None, **filters: Any) -> Summary:
    base = RollupQuery(key_id=key_id, since=since, until=until, **filters)
    per_day, per_model, per_provider = await asyncio.gather(
        ledger.rollup(_with(base, ("day",))),
        ledger.rollup(_with(base, ("model",))),
        ledger.rollup(_with(base, ("provider",))),
    )
    total = UsageRow.total(per_day)
    return Summary(
        since,
        until,
        total,
        charts.spend_per_day(per_day, since, until),
        charts.tokens_per_day(per_day, since, until),
        per_day,
        charts.shares(per_model, "model"),
        charts.shares(per_provider, "provider"),
    )


def _with(query: RollupQuery, group_by: tuple[RollupGroup, ...]) -> RollupQuery:
    return RollupQuery(query.key_id, query.model, query.provider, query.since, query.until, group_by)


@dataclass(frozen=True, slots=True)
class Budget:
    period: str
    start: datetime | None
    spent: Decimal
    limit: Decimal | None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else max(self.limit - self.spent, Decimal(0))

    @property
    def percent(self) -> int | None:
        if not self.limit:
            return None
        return min(100, int(self.spent * 100 / self.limit))


async def budget(ledger: Ledger, key: ApiKey) -> Budget:
    """Spend in the key's current budget period (periods start at UTC midnight: whole rollup days)."""
    period = current_period(key.budget_period, datetime.now(UTC))
    since = None if period.start is None else period.start.date()
    (row,) = await ledger.rollup(RollupQuery(key_id=key.id, since=since))
    return Budget(key.budget_period, period.start, row.cost, key.budget_usd)


async def holder_overview(console: Console, request: Request, viewer: Viewer) -> Response:
    key = viewer.key
    assert key is not None
    since, until = chart_window()
    spent, usage = await asyncio.gather(
        budget(console.ledger, key), summary(console.ledger, since, until, key_id=key.id)
    )
    context = {
        "key": key,
        "budget": spent,
        "usage": usage,
        "today": _today(usage),
        "models": [m for m in console.catalog if m.enabled and key.allows(m.id)],
        "days": CHART_DAYS,
    }
    return console.page(request, "console/holder.html", context, viewer=viewer)


def _today(usage: Summary) -> UsageRow:
    """Today's totals: the last day of the chart's window (read with it)."""
    day = today().isoformat()
    return UsageRow.total([r for r in usage.per_day if r.group.get("day") == day])


async def top_keys(console: Console, month: str) -> list[tuple[UsageRow, ApiKey | None]]:
    rows = await console.ledger.top_keys(month, TOP_KEYS)
    keys = await console.keys.get_many([row.group["key"] for row in rows])
    return [(row, keys.get(row.group["key"])) for row in rows]


async def operator_overview(console: Console, request: Request, viewer: Viewer) -> Response:
    since, until = chart_window()
    month = today().strftime("%Y-%m")
    usage, top, key_count = await asyncio.gather(
        summary(console.ledger, since, until), top_keys(console, month), console.keys.count()
    )
    context = {
        "usage": usage,
        "today": _today(usage),
        "top": top,
        "month": month,
        "key_count": key_count,
        "days": CHART_DAYS,
    }
    return console.page(request, "console/operator.html", context, viewer=viewer)


def _day_param(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _range(request: Request) -> tuple[date, date]:
    default_since, default_until = chart_window()
    since = _day_param(request.query_params.get("since"), default_since)
    last = _day_param(request.query_params.get("until"), default_until - timedelta(days=1))
    if last < since:
        since, last = last, since
    return since, min(last, since + timedelta(days=366)) + timedelta(days=1)


def _filters(request: Request) -> dict[str, str | None]:
    return {name: request.query_params.get(name) or None for name in ("key_id", "model", "provider")}


async def usage_page(console: Console, request: Request, viewer: Viewer) -> Response:
    since, until = _range(request)
    filters = _filters(request)
    month = request.query_params.get("month") or today().strftime("%Y-%m")
    usage, top = await asyncio.gather(summary(console.ledger, since, until, **filters), top_keys(console, month))
    context = {
        "usage": usage,
        "top": top,
        "month": month,
        "filters": filters,
        "first_day": since,
        "last_day": until - timedelta(days=1),
        "groups": GROUPS,
        "models": sorted(m.id for m in console.catalog),
    }
    return console.page(request, "console/usage.html", context, viewer=viewer)


CSV_COLUMNS = (
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "errors",
)


async def usage_csv(console: Console, request: Request, viewer: Viewer) -> Response:
    since, until = _range(request)
    wanted = [g for g in request.query_params.getlist("group_by") if g in GROUPS] or ["day"]
    order: tuple[RollupGroup, ...] = ("day", "key", "model", "provider")
    group_by = tuple(g for g in order if g in wanted)
    rows = await console.ledger.rollup(RollupQuery(since=since, until=until, group_by=group_by, **_filters(request)))

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow([*group_by, *CSV_COLUMNS])
        for i, row in enumerate(rows):
            counts: list[object] = [row.requests, row.input_tokens, row.cache_read_tokens, row.cache_write_tokens]
            counts += [row.output_tokens, row.reasoning_tokens, exact(row.cost), row.errors]
            out.writerow([row.group[g] for g in group_by] + counts)
            if i % 1000 == 999:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = f"opentoken-usage-{since}-{until - timedelta(days=1)}.csv"
    headers = {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
