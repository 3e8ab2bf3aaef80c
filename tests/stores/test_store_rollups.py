"""Per-day rollups and the request log, identical on every backend: the rollups always equal the ledger
(including retried and duplicate appends), and the request log pages by keyset with its filters."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from opentoken.stores.base import RequestQuery, RollupQuery, UsageQuery, UsageRecord
from opentoken.stores.factory import Stores

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
MODELS = (("google/gemini-3-flash", "google"), ("anthropic/claude-sonnet-4-5", "anthropic"))


def rec(n: int, **fields: object) -> UsageRecord:
    model, provider = MODELS[n % 2]
    base = UsageRecord(
        request_id=f"req_{n:05d}",
        key_id=f"key_{n % 3}",
        model=model,
        provider=provider,
        upstream_model=model.split("/")[1],
        created_at=T0 + timedelta(hours=7 * n),
        status=200,
        stream=n % 2 == 0,
        input_tokens=100 + n,
        cache_read_tokens=n % 7,
        cache_write_tokens=n % 5,
        output_tokens=10 * n,
        reasoning_tokens=n % 11,
        cost=Decimal("0.000000001") * (1000 + n),
        latency_ms=10.0 + n,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def records(count: int) -> list[UsageRecord]:
    out = [rec(i) for i in range(count)]
    for i in range(0, count, 9):
        out[i] = replace(out[i], status=429, error_code="rate_limit_exceeded")
    for i in range(4, count, 13):
        out[i] = replace(out[i], error_code="timeout")  # a stream that failed after it began: status 200
    return out


async def assert_rollups_equal_ledger(stores: Stores) -> None:
    for group_by in [(), ("day",), ("key",), ("model",), ("provider",), ("key", "day", "model")]:
        expected = await stores.ledger.usage(UsageQuery(group_by=group_by))  # type: ignore[arg-type]
        got = await stores.ledger.rollup(RollupQuery(group_by=group_by))  # type: ignore[arg-type]
        assert got == expected, group_by
    for key_id in ("key_0", "key_1", "key_2"):
        expected = await stores.ledger.usage(UsageQuery(key_id=key_id, group_by=("day", "model")))
        assert await stores.ledger.rollup(RollupQuery(key_id=key_id, group_by=("day", "model"))) == expected


async def test_rollups_equal_the_ledger_after_appends_retries_and_duplicates(stores: Stores) -> None:
    batch = records(60)
    await stores.ledger.append_many(batch[:25])
    await stores.ledger.append_many(batch[20:45])  # a retried batch: 20..24 are already there
    await stores.ledger.append_many([batch[50], batch[50], batch[45], *batch[46:60]])  # a duplicate in one batch
    await stores.ledger.append_many([replace(batch[3], cost=Decimal(99))])  # same id, other values: ignored
    assert await stores.ledger.count() == 60
    await assert_rollups_equal_ledger(stores)
    (total,) = await stores.ledger.rollup(RollupQuery())
    assert total.requests == 60 and total.cost == sum((r.cost for r in batch), Decimal(0))
    assert total.errors == len([r for r in batch if r.error_code])


async def test_rollup_filters_by_day_range_key_model_and_provider(stores: Stores) -> None:
    batch = records(40)
    await stores.ledger.append_many(batch)
    since, until = date(2025, 5, 3), date(2025, 5, 6)
    expected = [r for r in batch if since <= r.created_at.date() < until and r.key_id == "key_1"]
    (row,) = await stores.ledger.rollup(RollupQuery(key_id="key_1", since=since, until=until))
    assert row.requests == len(expected) and row.cost == sum((r.cost for r in expected), Decimal(0))
    assert row.output_tokens == sum(r.output_tokens for r in expected)
    rows = await stores.ledger.rollup(RollupQuery(provider="anthropic", since=since, group_by=("day",)))
    days = sorted(
        {r.created_at.strftime("%Y-%m-%d") for r in batch if r.provider == "anthropic" and r.created_at.date() >= since}
    )
    assert [row.group["day"] for row in rows] == days
    (only,) = await stores.ledger.rollup(RollupQuery(model="google/gemini-3-flash", group_by=("model",)))
    assert only.requests == 20
    assert await stores.ledger.rollup(RollupQuery(key_id="key_none", group_by=("day",))) == []


async def test_days_and_months_are_utc(stores: Stores) -> None:
    from zoneinfo import ZoneInfo

    seoul = datetime(2025, 6, 1, 8, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # 2025-05-31 23:00 UTC
    await stores.ledger.append_many([rec(1, created_at=seoul, key_id="key_x")])
    (row,) = await stores.ledger.rollup(RollupQuery(key_id="key_x", group_by=("day",)))
    assert row.group == {"day": "2025-05-31"}
    assert [r.group for r in await stores.ledger.top_keys("2025-05", 5)] == [{"key": "key_x"}]
    assert await stores.ledger.top_keys("2025-06", 5) == []


async def test_top_keys_are_the_dearest_of_the_month(stores: Stores) -> None:
    batch = [
        rec(i, key_id=f"key_{i % 4}", cost=Decimal(i % 4), created_at=T0 + timedelta(minutes=i)) for i in range(40)
    ]
    batch.append(rec(99, key_id="key_late", cost=Decimal(100), created_at=datetime(2025, 6, 1, tzinfo=UTC)))
    await stores.ledger.append_many(batch)
    top = await stores.ledger.top_keys("2025-05", 3)
    assert [(r.group["key"], r.cost, r.requests) for r in top] == [
        ("key_3", Decimal(30), 10),
        ("key_2", Decimal(20), 10),
        ("key_1", Decimal(10), 10),
    ]


async def test_request_log_pages_by_keyset_newest_first(stores: Stores) -> None:
    batch = records(50)
    tie = T0 + timedelta(days=100)
    batch += [rec(100 + i, created_at=tie, key_id="key_tie") for i in range(5)]  # the same created_at
    random.Random(7).shuffle(batch)
    await stores.ledger.append_many(batch)
    expected = sorted(batch, key=lambda r: (r.created_at, r.request_id), reverse=True)
    seen: list[UsageRecord] = []
    before = None
    while True:
        page = await stores.ledger.page(RequestQuery(limit=7, before=before))
        if not page:
            break
        seen += page
        before = (page[-1].created_at, page[-1].request_id)
    assert [r.request_id for r in seen] == [r.request_id for r in expected]
    assert seen[0] == expected[0]


async def test_request_log_filters(stores: Stores) -> None:
    batch = records(60)
    await stores.ledger.append_many(batch)

    async def ids(**query: object) -> list[str]:
        return [r.request_id for r in await stores.ledger.page(RequestQuery(limit=100, **query))]  # type: ignore[arg-type]

    def want(pred: object) -> list[str]:
        chosen = [r for r in batch if pred(r)]  # type: ignore[operator]
        return [r.request_id for r in sorted(chosen, key=lambda r: (r.created_at, r.request_id), reverse=True)]

    assert await ids(key_id="key_2") == want(lambda r: r.key_id == "key_2")
    assert await ids(model="anthropic/claude-sonnet-4-5") == want(lambda r: r.provider == "anthropic")
    assert await ids(status=429) == want(lambda r: r.status == 429)
    assert await ids(status=200, key_id="key_1") == want(lambda r: r.status == 200 and r.key_id == "key_1")
    assert await ids(errors=True) == want(lambda r: r.error_code is not None)
    assert await ids(errors=False) == want(lambda r: r.error_code is None)
    assert await ids(error_code="timeout") == want(lambda r: r.error_code == "timeout")
    since, until = T0 + timedelta(days=3), T0 + timedelta(days=6)
    assert await ids(since=since, until=until) == want(lambda r: since <= r.created_at < until)
    assert await ids(key_id="key_0", errors=True, model="google/gemini-3-flash") == want(
        lambda r: r.key_id == "key_0" and r.error_code and r.provider == "google"
    )


async def test_detail_fields_round_trip_and_get(stores: Stores) -> None:
    full = rec(
        1,
        ingress="openai_chat",
        deployment="anthropic-eu",
        deployments_tried=("anthropic-us", "anthropic-eu"),
        ignored_params=("logit_bias", "user"),
        adjusted_params=("temperature",),
        attempts=2,
    )
    bare = rec(2)
    await stores.ledger.append_many([full, bare])
    assert await stores.ledger.get(full.request_id) == full
    got = await stores.ledger.get(bare.request_id)
    assert got == bare and got is not None and got.deployments_tried == () and got.deployment is None
    assert await stores.ledger.get("req_missing") is None
