"""Bulk-load API keys and ledger rows straight into the gateway's SQLite file (the gateway is stopped).

The rows follow the stored format of ``opentoken.stores.sql`` (naive UTC timestamps as text, money as whole
nano-dollars in an INTEGER on SQLite, JSON text columns). Secrets are derived from the row number, so the
load generator can authenticate as any seeded key without keeping a million secrets around.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

BATCH = 50_000
_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def seeded_secret(i: int) -> str:
    return f"ot-bench{i:032d}"


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _finish(conn: sqlite3.Connection) -> None:
    """Checkpoint, close, and flush the page cache: loading runs with ``synchronous=OFF``, and gigabytes of
    dirty pages written back while the gateway is measured would stall its commits (a p99 of seconds)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.sync()


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MB page cache while loading
    return conn


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _key_rows(start: int, stop: int) -> Iterator[tuple[object, ...]]:
    created = _stamp(_NOW)
    for i in range(start, stop):
        secret = seeded_secret(i)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        # rpm/tpm set: every seeded key goes through the rate limiter like the benchmark's own key
        yield (f"key_bench{i:010d}", f"seeded {i}", secret[:10], digest, created, "[]", "none", 100_000_000, 10**11)


def seed_keys(db: Path, total: int) -> float:
    """Grow ``api_keys`` to hold ``total`` seeded keys (rows already seeded are kept). Returns seconds taken."""
    t0 = time.perf_counter()
    conn = _connect(db)
    have = int(conn.execute("SELECT count(*) FROM api_keys WHERE id LIKE 'key_bench%'").fetchone()[0])
    sql = (
        "INSERT INTO api_keys (id, name, prefix, key_hash, created_at, models, budget_period, rpm, tpm, metadata)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')"
    )
    for start in range(have, total, BATCH):
        conn.execute("BEGIN")
        conn.executemany(sql, _key_rows(start, min(total, start + BATCH)))
        conn.execute("COMMIT")
    _finish(conn)
    return time.perf_counter() - t0


def _ledger_rows(start: int, stop: int, keys: int) -> Iterator[tuple[object, ...]]:
    span = 30 * 24 * 3600  # a month of history, oldest first
    for i in range(start, stop):
        created = _stamp(_NOW - timedelta(seconds=span - (i % span)))
        yield (
            f"req_seed{i:012d}",
            f"key_seeded{i % keys:06d}",
            created,
            1200,
            300,
            1_234_567,
            612.5,
            80.0,
        )


def seed_ledger(db: Path, total: int, keys: int = 1000) -> float:
    """Grow ``usage_ledger`` to ``total`` seeded rows spread over ``keys`` key ids. Returns seconds taken."""
    t0 = time.perf_counter()
    conn = _connect(db)
    have = int(conn.execute("SELECT count(*) FROM usage_ledger WHERE request_id LIKE 'req_seed%'").fetchone()[0])
    sql = (
        "INSERT INTO usage_ledger (request_id, key_id, model, provider, upstream_model, created_at, status, stream,"
        " input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost, cost_input,"
        " cost_cache_read, cost_cache_write, cost_output, cost_reasoning, error_code, latency_ms, ttft_ms, attempts)"
        " VALUES (?, ?, 'anthropic/claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5', ?, 200, 0,"
        " ?, 0, 0, ?, 0, ?, 0, 0, 0, 0, 0, NULL, ?, ?, 1)"
    )
    for start in range(have, total, BATCH):
        conn.execute("BEGIN")
        conn.executemany(sql, _ledger_rows(start, min(total, start + BATCH), keys))
        conn.execute("COMMIT")
    _finish(conn)
    return time.perf_counter() - t0
