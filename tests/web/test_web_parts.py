"""The console's pure parts: money formatting, the models page's filters and sorts, the sign-in throttle,
and the chart geometry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from starlette.datastructures import QueryParams

from opentoken.catalog.registry import load_catalog
from opentoken.stores.base import UsageRow
from opentoken.web import charts
from opentoken.web.models import ModelFilter, cards
from opentoken.web.render import exact, usd
from opentoken.web.throttle import REFUSE_AFTER, SLOW_AFTER, WINDOW_SECONDS, SignInThrottle


def test_money_is_shown_exactly_below_a_dollar() -> None:
    assert usd(Decimal("0.000370368")) == "$0.000370368"
    assert usd(Decimal("0.100000000")) == "$0.1"
    assert usd(Decimal(0)) == "$0"
    assert usd(Decimal("1234.5678")) == "$1,234.57"
    assert usd(Decimal("1234.5678"), exact=True) == "$1,234.5678"
    assert exact(Decimal("12.500000000")) == "12.5" and exact(Decimal("3")) == "3"


def test_model_filters_search_and_sorts() -> None:
    every = cards(load_catalog(), date(2026, 1, 1))
    providers = sorted({c.info.provider for c in every})

    def ids(query: str) -> list[str]:
        return [c.out.id for c in ModelFilter.from_query(QueryParams(query), providers).apply(every)]

    assert len(ids("")) == len(every)
    assert all(i.startswith("google/") for i in ids("provider=google")) and ids("provider=google")
    assert all(
        "audio" in c.out.capabilities and c.out.capabilities["audio"] for c in every if c.out.id in ids("cap=audio")
    )
    assert ids("q=sonnet") == [i for i in ids("") if "sonnet" in i]
    by_price = [c for c in ModelFilter.from_query(QueryParams("sort=price"), providers).apply(every)]
    assert [c.input_price for c in by_price] == sorted(c.input_price for c in by_price)
    cheap = ModelFilter.from_query(QueryParams("max_price=1"), providers).apply(every)
    assert cheap and all(c.input_price <= 1 for c in cheap)
    long = ids("min_context=1000000")
    assert long and long == [i for i in ids("") if i in {c.out.id for c in every if c.out.context_length >= 1_000_000}]
    bad = ModelFilter.from_query(QueryParams("max_price=abc&min_context=x&sort=nope&provider=nobody"), providers)
    assert len(bad.problems) == 2 and bad.sort == "name" and bad.providers == []
    shared = ModelFilter.from_query(QueryParams("q=gemini&provider=google&sort=context&view=cards"), providers)
    again = ModelFilter.from_query(
        QueryParams(
            [(k, str(v)) for k, vs in shared.params().items() if vs for v in (vs if isinstance(vs, list) else [vs])]
        ),
        providers,
    )
    assert again == shared


def test_sign_in_throttle_slows_then_refuses_then_forgets() -> None:
    now = [1000.0]
    throttle = SignInThrottle(clock=lambda: now[0])
    assert throttle.check("a").delay == 0 and throttle.check("a").retry_after is None
    for _ in range(SLOW_AFTER):
        throttle.failed("a")
    assert throttle.check("a").delay > 0 and throttle.check("a").retry_after is None
    assert throttle.check("b").delay == 0  # per client
    for _ in range(REFUSE_AFTER - SLOW_AFTER):
        throttle.failed("a")
    refused = throttle.check("a")
    assert refused.retry_after is not None and 0 < refused.retry_after <= WINDOW_SECONDS
    now[0] += WINDOW_SECONDS + 1
    assert throttle.check("a").retry_after is None and throttle.check("a").delay == 0
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.check("a").delay == 0


def _row(day: str, cost: str, output: int) -> UsageRow:
    return UsageRow({"day": day}, 1, 10, 0, 0, output, 0, Decimal(cost), 0)


def test_charts_scale_to_the_largest_day() -> None:
    rows = [_row("2026-01-02", "2", 100), _row("2026-01-04", "0.5", 300)]
    spend = charts.spend_per_day(rows, date(2026, 1, 1), date(2026, 1, 5))
    assert [b.day for b in spend.bars] == ["2026-01-02", "2026-01-04"]
    tallest, short = spend.bars
    assert abs(tallest.height / short.height - 4) < 1e-9 and spend.grid[-1][1] == "$2.00"
    tokens = charts.tokens_per_day(rows, date(2026, 1, 1), date(2026, 1, 5))
    assert {b.series for b in tokens.bars} == {"Input", "Output"} and not tokens.empty
    assert charts.spend_per_day([], date(2026, 1, 1), date(2026, 1, 5)).empty
