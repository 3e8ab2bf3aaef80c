"""Budget periods are UTC calendar periods.

- ``none``: one period for all time (the budget is a lifetime cap).
- ``daily``: from 00:00 UTC to the next 00:00 UTC.
- ``weekly``: ISO weeks, from Monday 00:00 UTC to the next Monday 00:00 UTC.
- ``monthly``: from the 1st of the month 00:00 UTC to the 1st of the next month.

A request is charged to the period in which it was admitted, even if it settles after the period ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentoken.stores.base import BudgetPeriod

LIFETIME_COUNTER_TTL = timedelta(days=30)  # an idle lifetime counter is reloaded from the ledger
LATE_SETTLE_GRACE = timedelta(days=1)  # a period's counter outlives the period this long


@dataclass(frozen=True, slots=True)
class Period:
    tag: str  # names the counter: "all", "d2025-06-01", "w2025-06-02" (the Monday), "m2025-06"
    start: datetime | None  # None: since the beginning (the ``since`` passed to Ledger.spend)
    end: datetime | None

    def counter_ttl(self, now: datetime) -> timedelta:
        """How long the period's counter should live from ``now``."""
        if self.end is None:
            return LIFETIME_COUNTER_TTL
        return self.end - now + LATE_SETTLE_GRACE


def current_period(kind: BudgetPeriod, now: datetime) -> Period:
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "none":
        return Period("all", None, None)
    if kind == "daily":
        return Period(f"d{midnight:%Y-%m-%d}", midnight, midnight + timedelta(days=1))
    if kind == "weekly":
        monday = midnight - timedelta(days=midnight.weekday())
        return Period(f"w{monday:%Y-%m-%d}", monday, monday + timedelta(days=7))
    if kind == "monthly":
        first = midnight.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(f"m{first:%Y-%m}", first, following)
    raise ValueError(f"unknown budget period {kind!r}")
