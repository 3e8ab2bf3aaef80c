"""The benchmark's bulk loaders write rows the gateway's own SQL stores read back correctly."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

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
