"""Server-rendered SVG charts: the geometry is computed here, ``templates/_charts.html`` draws it. Every
chart also has its figures as a table (for screen readers, and without the picture)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from opentoken.stores.base import UsageRow
from opentoken.web.i18n import N_

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 10, 28
TOKEN_KINDS = (
    ("input_tokens", "s1", N_("Input")),
    ("cache_read_tokens", "s2", N_("Cache read")),
    ("cache_write_tokens", "s3", N_("Cache write")),
    ("output_tokens", "s4", N_("Output")),
    ("reasoning_tokens", "s5", N_("Reasoning")),
)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    day: str  # the tooltip: "{day} · {series}: {value}" (series translated where shown)
    series: str
    value: str


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    grid: list[tuple[float, str]]  # (y, axis label)
    xlabels: list[tuple[float, str]]
    legend: list[tuple[str, str]]  # (css class, series name: translated where shown)
    unit: str  # "usd" or "tokens"
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not any(b.height > 0 for b in self.bars)


def days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days)]


def nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _axis(top: float, unit: str) -> list[tuple[float, str]]:
    from opentoken.web.render import compact, usd

    plot = HEIGHT - TOP - BOTTOM
    out = []
    for i in range(5):
        value = top * i / 4
        label = usd(Decimal(str(round(value, 6)))) if unit == "usd" else compact(round(value))
        out.append((TOP + plot - plot * i / 4, label))
    return out


def stacked(columns: Sequence[date], series: Sequence[tuple[str, str, Mapping[date, float]]], unit: str) -> Chart:
    """Bars per day, each stacked from ``series`` of (css class, name, value per day)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [sum(values.get(d, 0.0) for _, _, values in series) for d in columns]
    top = nice_ceiling(max(totals, default=0.0))
    slot = plot_w / max(1, len(columns))
    bars: list[Bar] = []
    for i, day in enumerate(columns):
        base: float = TOP + plot_h
        for css, name, values in series:
            value = values.get(day, 0.0)
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            shown = f"${value:,.6f}".rstrip("0").rstrip(".") if unit == "usd" else f"{round(value):,}"
            bars.append(Bar(LEFT + i * slot + slot * 0.15, base, slot * 0.7, h, css, day.isoformat(), name, shown))
    step = max(1, len(columns) // 6)
    xlabels = [(LEFT + i * slot + slot / 2, d.strftime("%m-%d")) for i, d in enumerate(columns) if i % step == 0]
    legend = [(css, name) for css, name, _ in series] if len(series) > 1 else []
    return Chart(bars, _axis(top, unit), xlabels, legend, unit)


def spend_per_day(rows: Sequence[UsageRow], since: date, until: date) -> Chart:
    values = {date.fromisoformat(r.group["day"]): float(r.cost) for r in rows}
    return stacked(days(since, until), [("s1", N_("Spend"), values)], "usd")


def tokens_per_day(rows: Sequence[UsageRow], since: date, until: date) -> Chart:
    series = [
        (css, name, {date.fromisoformat(r.group["day"]): float(getattr(r, kind)) for r in rows})
        for kind, css, name in TOKEN_KINDS
    ]
    return stacked(days(since, until), series, "tokens")


@dataclass(frozen=True, slots=True)
class Share:
    """One horizontal bar of a breakdown (per model, per provider, per key)."""

    name: str
    row: UsageRow
    fraction: float  # of the largest cost in the breakdown (0..1)


def shares(rows: Sequence[UsageRow], group: str) -> list[Share]:
    ordered = sorted(rows, key=lambda r: (-r.cost, r.group.get(group, "")))
    top = max((r.cost for r in ordered), default=Decimal(0))
    return [Share(r.group.get(group, ""), r, float(r.cost / top) if top else 0.0) for r in ordered]
