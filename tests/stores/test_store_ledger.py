"""Ledger behaviour, identical on every backend: exact money, idempotent appends, grouping and filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opentoken.stores.base import UsageQuery, UsageRecord
from opentoken.stores.factory import Stores

DAY1 = datetime(2025, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
DAY2 = datetime(2025, 5, 2, 0, 0, 0, tzinfo=UTC)


def rec(n: int, **fields: object) -> UsageRecord:
    base = UsageRecord(
        request_id=f"req_{n}",
        key_id="key_a",
        model="google/gemini-3-flash",
        provider="google",
        upstream_model="gemini-3-flash-preview",
        created_at=DAY1,
        status=200,
        stream=False,
        input_tokens=100,
        cache_read_tokens=10,
        cache_write_tokens=5,
        output_tokens=50,
        reasoning_tokens=20,
        cost=Decimal("0.000123456"),
        cost_input=Decimal("0.000100000"),
        cost_cache_read=Decimal("0.000000001"),
        cost_cache_write=Decimal("0.000000455"),
        cost_output=Decimal("0.000020000"),
        cost_reasoning=Decimal("0.000003000"),
        latency_ms=812.5,
        ttft_ms=101.25,
        attempts=1,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def test_records_round_trip_exactly(stores: Stores) -> None:
    big = rec(1, cost=Decimal("9123456789.123456789"), stream=True, ttft_ms=None, error_code="timeout")
    small = rec(2, created_at=DAY2)
    await stores.ledger.append_many([big, small])
    assert await stores.ledger.count() == 2
    assert await stores.ledger.recent() == [small, big]
    got = (await stores.ledger.recent(limit=1, key_id="key_a"))[0]
    assert got.created_at.tzinfo is not None and got.cost == Decimal("0.000123456")


async def test_append_is_idempotent_by_request_id(stores: Stores) -> None:
    await stores.ledger.append_many([rec(1), rec(2)])
    await stores.ledger.append_many([rec(2, cost=Decimal(5)), rec(3)])
    assert await stores.ledger.count() == 3
    assert await stores.ledger.spend("key_a", None) == Decimal("0.000123456") * 3


async def test_append_nothing_is_a_no_op(stores: Stores) -> None:
    await stores.ledger.append_many([])
    assert await stores.ledger.count() == 0


async def test_spend_sums_exactly_since_a_time(stores: Stores) -> None:
    nano = Decimal("0.000000001")
    records = [rec(i, cost=nano, created_at=DAY1 - timedelta(seconds=i)) for i in range(1000)]
    records.append(rec(5000, key_id="key_b", cost=Decimal(7)))
    await stores.ledger.append_many(records)
    assert await stores.ledger.spend("key_a", None) == Decimal("0.000001")
    assert await stores.ledger.spend("key_a", DAY1 - timedelta(seconds=9)) == nano * 10
    assert await stores.ledger.spend("key_b", None) == Decimal(7)
    assert await stores.ledger.spend("key_none", None) == Decimal(0)


async def test_recent_is_newest_first_with_limit_and_key(stores: Stores) -> None:
    records = [rec(i, created_at=DAY1 + timedelta(minutes=i), key_id=f"key_{i % 2}") for i in range(6)]
    await stores.ledger.append_many(records)
    assert [r.request_id for r in await stores.ledger.recent(limit=3)] == ["req_5", "req_4", "req_3"]
    assert [r.request_id for r in await stores.ledger.recent(key_id="key_0")] == ["req_4", "req_2", "req_0"]


async def test_usage_totals_without_grouping(stores: Stores) -> None:
    empty = await stores.ledger.usage(UsageQuery())
    assert len(empty) == 1 and empty[0].requests == 0 and empty[0].cost == 0 and empty[0].group == {}
    await stores.ledger.append_many(
        [rec(1), rec(2, status=500, error_code="upstream_error"), rec(3, status=200, error_code="timeout")]
    )
    (total,) = await stores.ledger.usage(UsageQuery())
    assert (total.requests, total.errors) == (3, 2)
    assert (total.input_tokens, total.cache_read_tokens, total.cache_write_tokens) == (300, 30, 15)
    assert (total.output_tokens, total.reasoning_tokens) == (150, 60)
    assert total.cost == Decimal("0.000370368")


async def test_usage_groups_by_key_model_provider_day(stores: Stores) -> None:
    await stores.ledger.append_many(
        [
            rec(1),
            rec(2, created_at=DAY2),
            rec(3, key_id="key_b", model="anthropic/claude-sonnet-4-5", provider="anthropic"),
            rec(4, key_id="key_b", model="anthropic/claude-sonnet-4-5", provider="anthropic", created_at=DAY2),
            rec(5, key_id="key_b", created_at=DAY2, cost=Decimal("1.5")),
        ]
    )
    by_day = await stores.ledger.usage(UsageQuery(group_by=("day",)))
    assert [(dict(r.group), r.requests) for r in by_day] == [
        ({"day": "2025-05-01"}, 2),
        ({"day": "2025-05-02"}, 3),
    ]
    rows = await stores.ledger.usage(UsageQuery(group_by=("key", "provider")))
    assert [(dict(r.group), r.requests, r.cost) for r in rows] == [
        ({"key": "key_a", "provider": "google"}, 2, Decimal("0.000246912")),
        ({"key": "key_b", "provider": "anthropic"}, 2, Decimal("0.000246912")),
        ({"key": "key_b", "provider": "google"}, 1, Decimal("1.5")),
    ]
    by_model = await stores.ledger.usage(UsageQuery(group_by=("model", "day"), key_id="key_b"))
    assert [dict(r.group) for r in by_model] == [
        {"model": "anthropic/claude-sonnet-4-5", "day": "2025-05-01"},
        {"model": "anthropic/claude-sonnet-4-5", "day": "2025-05-02"},
        {"model": "google/gemini-3-flash", "day": "2025-05-02"},
    ]


async def test_usage_filters(stores: Stores) -> None:
    await stores.ledger.append_many(
        [
            rec(1),
            rec(2, created_at=DAY2),
            rec(3, model="anthropic/claude-sonnet-4-5", provider="anthropic", created_at=DAY2),
        ]
    )

    async def requests(**query: object) -> int:
        (row,) = await stores.ledger.usage(UsageQuery(**query))  # type: ignore[arg-type]
        return row.requests

    assert await requests(since=DAY2) == 2
    assert await requests(until=DAY2) == 1
    assert await requests(since=DAY1, until=DAY2 + timedelta(microseconds=1)) == 3
    assert await requests(provider="anthropic") == 1
    assert await requests(model="google/gemini-3-flash", since=DAY2) == 1
    assert await requests(key_id="key_other") == 0
    assert await stores.ledger.usage(UsageQuery(key_id="key_other", group_by=("key",))) == []


async def test_day_is_taken_in_utc(stores: Stores) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2025, 5, 2, 1, 30, tzinfo=ZoneInfo("Europe/Paris"))  # 2025-05-01 23:30 UTC
    await stores.ledger.append_many([rec(1, created_at=local)])
    (row,) = await stores.ledger.usage(UsageQuery(group_by=("day",)))
    assert dict(row.group) == {"day": "2025-05-01"}
    (got,) = await stores.ledger.recent()
    assert got.created_at == local and got.created_at.utcoffset() == timedelta(0)
