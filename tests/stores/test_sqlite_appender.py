"""The SQLite ledger appender stores exactly what the SQLAlchemy path stores, idempotently."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from opentoken.stores.base import UsageRecord
from opentoken.stores.factory import open_stores
from opentoken.stores.sql.engine import create_engine, parse_database_url, write_transaction
from opentoken.stores.sql.schema import usage_ledger
from opentoken.stores.sql.sqlite_appender import SqliteAppender

RECORD = UsageRecord(
    request_id="req_a",
    key_id="key_1",
    model="anthropic/claude-haiku-4-5",
    provider="anthropic",
    upstream_model="claude-haiku-4-5",
    created_at=datetime(2026, 11, 26, 12, 30, 15, 123456, tzinfo=UTC),
    status=200,
    stream=True,
    input_tokens=11,
    cache_read_tokens=2,
    cache_write_tokens=3,
    output_tokens=40,
    reasoning_tokens=7,
    cost=Decimal("0.000123456"),
    cost_input=Decimal("0.000011"),
    cost_cache_read=Decimal("0.0000002"),
    cost_cache_write=Decimal("0.00000375"),
    cost_output=Decimal("0.000165"),
    cost_reasoning=Decimal("0.000035"),
    error_code="client_disconnected",
    latency_ms=12.5,
    ttft_ms=None,
    attempts=2,
)


async def test_rows_match_the_sqlalchemy_path_and_appends_are_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    stores = await open_stores(url, migrate=True)
    await stores.close()
    engine = create_engine(parse_database_url(url))
    async with write_transaction(engine) as conn:
        await conn.execute(usage_ledger.insert(), [dataclasses.asdict(dataclasses.replace(RECORD, request_id="req_b"))])
    appender = SqliteAppender(str(tmp_path / "ledger.db"), engine.dialect)
    await appender.append([RECORD])
    await appender.append([RECORD])  # a retried batch: no second row
    await appender.close()
    await engine.dispose()
    raw = sqlite3.connect(tmp_path / "ledger.db")
    raw.row_factory = sqlite3.Row
    rows = {r["request_id"]: dict(r) for r in raw.execute("SELECT * FROM usage_ledger")}
    raw.close()
    assert sorted(rows) == ["req_a", "req_b"]
    ours, theirs = rows["req_a"], rows["req_b"]
    for column in ("id", "request_id"):
        ours.pop(column), theirs.pop(column)
    assert ours == theirs
    assert ours["cost"] == 123456 and ours["created_at"].startswith("2026-11-26 12:30:15.123456")
    reopened = await open_stores(url, migrate=True)
    recent = {r.request_id: r for r in await reopened.ledger.recent(10)}
    await reopened.close()
    assert recent["req_a"] == RECORD
