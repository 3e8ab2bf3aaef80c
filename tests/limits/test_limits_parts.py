"""Budget periods, header formatting, money conversion, and the factory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import Overloaded, RateLimited
from opentoken.core.money import Prices
from opentoken.limits.base import format_reset, nanos_down, nanos_up, rate_limit_headers, usd
from opentoken.limits.factory import close_limits, open_limits
from opentoken.limits.limiter import KeyLimiter
from opentoken.limits.periods import current_period
from opentoken.stores.base import ApiKey
from opentoken.stores.counters import Ask, ImmediateCounters, Outcome
from opentoken.stores.memory.bus import MemoryBus
from opentoken.stores.memory.counters import MemoryCounters
from opentoken.stores.redis.bus import RedisBus

NOW = datetime(2025, 6, 11, 15, 30, tzinfo=UTC)  # Wednesday
MODEL = ModelInfo("a/m", "a", "m", "m", 0, 1000, 100, 100, Prices(Decimal(1), Decimal(1)))


def test_periods_are_utc_calendar_periods() -> None:
    daily = current_period("daily", NOW)
    assert (daily.tag, daily.start, daily.end) == (
        "d2025-06-11",
        datetime(2025, 6, 11, tzinfo=UTC),
        datetime(2025, 6, 12, tzinfo=UTC),
    )
    weekly = current_period("weekly", NOW)
    assert (weekly.tag, weekly.start, weekly.end) == (
        "w2025-06-09",
        datetime(2025, 6, 9, tzinfo=UTC),
        datetime(2025, 6, 16, tzinfo=UTC),
    )
    monthly = current_period("monthly", datetime(2024, 12, 31, 23, 59, tzinfo=UTC))
    assert (monthly.tag, monthly.start, monthly.end) == (
        "m2024-12",
        datetime(2024, 12, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert current_period("monthly", datetime(2024, 2, 29, tzinfo=UTC)).end == datetime(2024, 3, 1, tzinfo=UTC)
    lifetime = current_period("none", NOW)
    assert (lifetime.tag, lifetime.start, lifetime.end) == ("all", None, None)


def test_periods_use_utc_whatever_the_input_zone() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 2025-06-12 08:00 in Tokyo is still 2025-06-11 in UTC.
    assert current_period("daily", datetime(2025, 6, 12, 8, 0, tzinfo=tokyo)).tag == "d2025-06-11"
    # Sunday 23:00 UTC is still the week that began on Monday.
    assert current_period("weekly", datetime(2025, 6, 15, 23, 0, tzinfo=UTC)).tag == "w2025-06-09"
    assert current_period("weekly", datetime(2025, 6, 16, 0, 0, tzinfo=UTC)).tag == "w2025-06-16"


def test_counter_ttl_outlives_the_period() -> None:
    daily = current_period("daily", NOW)
    assert daily.counter_ttl(NOW) == timedelta(hours=8, minutes=30) + timedelta(days=1)
    assert current_period("none", NOW).counter_ttl(NOW) == timedelta(days=30)


def test_unknown_period_is_rejected() -> None:
    with pytest.raises(ValueError):
        current_period("yearly", NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0ms"),
        (-5, "0ms"),
        (20, "20ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (1234, "1.234s"),
        (59_999, "59.999s"),
        (60_000, "1m0s"),
        (90_500, "1m30.5s"),
        (360_000, "6m0s"),
    ],
)
def test_format_reset_uses_go_durations(ms: int, text: str) -> None:
    assert format_reset(ms) == text


def test_headers_only_for_limits_the_key_has() -> None:
    key = ApiKey(id="k", name="n", prefix="p", key_hash="h", created_at=NOW, rpm=10)
    outcome = Outcome("granted", requests_used=3, requests_reset_ms=60_000, tokens_used=50)
    assert rate_limit_headers(key, outcome) == {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "7",
        "x-ratelimit-reset-requests": "1m0s",
    }
    both = ApiKey(id="k", name="n", prefix="p", key_hash="h", created_at=NOW, rpm=10, tpm=100)
    headers = rate_limit_headers(both, Outcome("tokens", requests_used=12, tokens_used=150, tokens_reset_ms=1500))
    assert headers["x-ratelimit-remaining-requests"] == "0"  # never negative
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert headers["x-ratelimit-reset-tokens"] == "1.5s"
    unlimited = ApiKey(id="k", name="n", prefix="p", key_hash="h", created_at=NOW)
    assert rate_limit_headers(unlimited, outcome) == {}


def test_money_crosses_as_integer_nano_dollars() -> None:
    assert nanos_up(Decimal("0.018")) == 18_000_000
    assert nanos_up(Decimal("0.0000000001")) == 1  # a fraction of a nano-dollar is never dropped
    assert nanos_down(Decimal("0.9999999999")) == 999_999_999  # a budget is never rounded up
    assert usd(18_000_000) == Decimal("0.018")


async def _no_spend(key_id: str, since: datetime | None) -> Decimal:
    return Decimal(0)


async def test_open_limits_in_memory() -> None:
    limiter, bus = await open_limits(None, _no_spend)
    assert isinstance(limiter, KeyLimiter) and isinstance(bus, MemoryBus)
    await close_limits(limiter, bus)


async def test_open_limits_on_redis(redis_url: str, redis_prefix: str) -> None:
    key = ApiKey(id=f"{redis_prefix}-factory", name="n", prefix="p", key_hash="h", created_at=NOW, rpm=1)
    first, first_bus = await open_limits(redis_url, _no_spend, prefix=redis_prefix)
    second, second_bus = await open_limits(redis_url, _no_spend, prefix=redis_prefix)
    assert isinstance(first_bus, RedisBus)
    try:
        await (await first.admit(key, MODEL, 1, 1)).settle(Decimal(0), 2)
        with pytest.raises(RateLimited):  # the second process sees the first one's request
            await second.admit(key, MODEL, 1, 1)
    finally:
        await close_limits(first, first_bus)
        await close_limits(second, second_bus)


async def test_open_limits_fails_fast_without_redis() -> None:
    with pytest.raises(RedisConnectionError):
        await open_limits("redis://127.0.0.1:1", _no_spend)


class GatedCounters:
    """A counter store that waits (as one reached over the network does): ``acquire`` waits for a gate; over
    memory counters, recording releases. Not ``ImmediateCounters``, so the limiter takes its awaiting path."""

    def __init__(self) -> None:
        self.inner = MemoryCounters()
        self.gate = asyncio.Event()
        self.released: list[str] = []

    async def acquire(self, ask: Ask) -> Outcome:
        await self.gate.wait()
        return await self.inner.acquire(ask)

    async def init_budget(self, key_id: str, period: str, spent_nanos: int, ttl_ms: int) -> None:
        await self.inner.init_budget(key_id, period, spent_nanos, ttl_ms)

    async def settle(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        await self.inner.settle(ask, cost_nanos, tokens)

    async def release(self, ask: Ask) -> None:
        self.released.append(ask.admission_id)
        await self.inner.release(ask)

    async def renew(self, asks: list[Ask], now_ms: int, until_ms: int) -> None:
        await self.inner.renew(asks, now_ms, until_ms)

    async def close(self) -> None:
        await self.inner.close()


async def test_in_process_counters_admit_and_settle_without_a_turn_of_the_event_loop() -> None:
    """Memory counters are ``ImmediateCounters``: no task, no shield, nothing else runs in between."""
    counters = MemoryCounters()
    assert isinstance(counters, ImmediateCounters) and not isinstance(GatedCounters(), ImmediateCounters)
    limiter = KeyLimiter(counters, _no_spend)
    key = ApiKey(id="k-now", name="n", prefix="p", key_hash="h", created_at=NOW, rpm=2, max_concurrent=1)
    turned: list[bool] = []
    asyncio.get_running_loop().call_soon(turned.append, True)  # runs at the next turn of the loop
    admission = await limiter.admit(key, MODEL, 1, 1)
    with pytest.raises(RateLimited):  # the concurrency slot is taken
        await limiter.admit(key, MODEL, 1, 1)
    await admission.settle(Decimal("0.001"), 2)
    second = await limiter.admit(key, MODEL, 1, 1)  # the slot is free again; rpm 2 counts both
    await second.settle(Decimal(0), 2)
    with pytest.raises(RateLimited, match="requests per minute"):
        await limiter.admit(key, MODEL, 1, 1)
    assert turned == []  # none of it waited for the loop
    third = ApiKey(id="k-now-2", name="n", prefix="p", key_hash="h", created_at=NOW, max_concurrent=1)
    released = await limiter.admit(third, MODEL, 1, 1)
    await released.release()  # frees the slot at once
    await (await limiter.admit(third, MODEL, 1, 1)).release()
    assert turned == []
    await limiter.close()


async def test_admission_granted_after_its_caller_was_cancelled_is_released() -> None:
    counters = GatedCounters()
    limiter = KeyLimiter(counters, _no_spend)
    key = ApiKey(id="k-cancel", name="n", prefix="p", key_hash="h", created_at=NOW, max_concurrent=1)
    caller = asyncio.ensure_future(limiter.admit(key, MODEL, 1, 1))
    await asyncio.sleep(0.01)  # the caller now waits inside acquire
    caller.cancel()  # the client went away
    with pytest.raises(asyncio.CancelledError):
        await caller
    counters.gate.set()  # the store grants the admission after all
    for _ in range(100):
        if counters.released:
            break
        await asyncio.sleep(0.01)
    assert len(counters.released) == 1
    await (await limiter.admit(key, MODEL, 1, 1)).release()  # the slot is free
    await limiter.close()


async def test_admit_after_close_is_refused() -> None:
    limiter = KeyLimiter(MemoryCounters(), _no_spend)
    await limiter.close()
    key = ApiKey(id="k-closed", name="n", prefix="p", key_hash="h", created_at=NOW)
    with pytest.raises(Overloaded):
        await limiter.admit(key, MODEL, 1, 1)
