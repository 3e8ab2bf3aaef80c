"""The benchmark's bulk loaders write rows the gateway's own SQL stores read back correctly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench.seed import seed_keys, seed_ledger, seeded_secret

from opentoken.auth.keys import hash_key
from opentoken.stores.base import UsageQuery
from opentoken.stores.factory import open_stores


async def test_seeded_keys_and_ledger_rows_are_read_by_the_sql_stores(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    stores = await open_stores(f"sqlite:///{db}", migrate=True)
    try:
        seed_keys(db, 25)
        seed_keys(db, 30)  # grows to 30; the first 25 are kept, not duplicated
        seed_ledger(db, 40, keys=4)
        key = await stores.keys.get_by_hash(hash_key(seeded_secret(27)))
        assert key is not None and key.id == "key_bench0000000027"
        assert key.rpm == 100_000_000 and key.budget_usd is None and key.models == ()
        assert len(await stores.keys.list()) == 30
        assert await stores.ledger.count() == 40
        spent = await stores.ledger.spend("key_seeded000001", datetime(2025, 1, 1, tzinfo=UTC))
        assert spent == Decimal("0.001234567") * 10
        rows = await stores.ledger.usage(UsageQuery(group_by=("key",)))
        assert sorted(r.requests for r in rows) == [10, 10, 10, 10]
        recent = await stores.ledger.recent(1)
        assert recent[0].created_at.tzinfo is not None and recent[0].cost == Decimal("0.001234567")
    finally:
        await stores.close()


async def test_console_seed_loads_what_the_stores_read_with_rollups_equal_to_the_ledger(tmp_path: Path) -> None:
    from bench.console_seed import key_id, seed_sqlite

    from opentoken.stores.base import RequestQuery, RollupQuery

    db = tmp_path / "console.db"
    stores = await open_stores(f"sqlite:///{db}", migrate=True)
    try:
        seed_sqlite(db, keys=50, rows=3000, now=datetime(2026, 3, 1, tzinfo=UTC))
        assert await stores.keys.count() == 50 and await stores.ledger.count() == 3000
        for group_by in [("day",), ("key",), ("model", "provider"), ()]:
            assert await stores.ledger.rollup(RollupQuery(group_by=group_by)) == await stores.ledger.usage(  # type: ignore[arg-type]
                UsageQuery(group_by=group_by)  # type: ignore[arg-type]
            )
        busiest = await stores.ledger.top_keys("2026-02", 1)
        assert busiest[0].group["key"] == key_id(0)
        errors = await stores.ledger.page(RequestQuery(errors=True, limit=500))
        assert 30 <= len(errors) <= 90 and all(r.error_code for r in errors)
        (one,) = await stores.ledger.page(RequestQuery(key_id=key_id(0), limit=1))
        assert (
            one.deployments_tried
            and one.cost == one.cost_input + one.cost_cache_read + one.cost_output + one.cost_reasoning
        )
    finally:
        await stores.close()
