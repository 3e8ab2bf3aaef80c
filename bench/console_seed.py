"""Bulk-load a console-sized database: keys and a ledger with the shape of real traffic, on SQLite or PostgreSQL.

The schema comes from the gateway's own migrations (``opentoken migrate``); the rows are written straight
in the stored format (SQLite: money as whole nano-dollars, naive-UTC text times; PostgreSQL: ``COPY`` text),
with the ledger's secondary indexes dropped during the load and rebuilt after it, and the rollups rebuilt
from the rows by the same SQL as the migration's backfill (``opentoken.stores.sql.rollups``).

The traffic: keys follow a steep power law (the busiest key holds about 2% of the rows, most keys a handful),
six models with different prices, 60 days ending now (so the console's 30-day charts and today are full),
about 2% errors of four kinds, streams and retries mixed in.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentoken.stores.sql.rollups import rebuild_statements

BATCH = 100_000
DAYS = 60
MODELS = (  # public id, provider, upstream model, input and output USD per million tokens, share
    ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", 3, 15, 30),
    ("anthropic/claude-haiku-4-5", "anthropic", "claude-haiku-4-5", 1, 5, 20),
    ("anthropic/claude-opus-4-5", "anthropic", "claude-opus-4-5", 5, 25, 5),
    ("google/gemini-3-flash", "google", "gemini-3-flash-preview", 0.5, 3, 25),
    ("google/gemini-2.5-pro", "google", "gemini-2.5-pro", 1.25, 10, 12),
    ("google/gemini-3-pro", "google", "gemini-3-pro-preview", 2, 12, 8),
)
ERRORS = ((429, "rate_limit_exceeded"), (500, "upstream_error"), (200, "timeout"), (499, "client_disconnected"))
LEDGER_INDEXES = (
    ("ux_usage_ledger_request_id", "CREATE UNIQUE INDEX ux_usage_ledger_request_id ON usage_ledger (request_id)"),
    ("ix_usage_ledger_created_request", "CREATE INDEX ix_usage_ledger_created_request ON usage_ledger (created_at, request_id)"),
    ("ix_usage_ledger_key_created_request", "CREATE INDEX ix_usage_ledger_key_created_request ON usage_ledger (key_id, created_at, request_id)"),
    ("ix_usage_ledger_model_created_request", "CREATE INDEX ix_usage_ledger_model_created_request ON usage_ledger (model, created_at, request_id)"),
    ("ix_usage_ledger_errors_created_request", "CREATE INDEX ix_usage_ledger_errors_created_request ON usage_ledger (created_at, request_id) WHERE error_code IS NOT NULL"),
)  # fmt: skip
COLUMNS = (
    "request_id, key_id, model, provider, upstream_model, created_at, status, stream, input_tokens,"
    " cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost, cost_input, cost_cache_read,"
    " cost_cache_write, cost_output, cost_reasoning, error_code, latency_ms, ttft_ms, attempts, deployment,"
    " deployments_tried"
)


def key_id(i: int) -> str:
    return f"key_bench{i:010d}"


def secret(i: int) -> str:
    return f"ot-bench{i:032d}"


def _model_table() -> list[int]:
    table = []
    for index, model in enumerate(MODELS):
        table += [index] * model[5]
    return table


def ledger_rows(start: int, stop: int, total: int, keys: int, now: datetime) -> Iterator[tuple[object, ...]]:
    """Rows ``start``..``stop`` of ``total``, oldest first, in time order over ``DAYS`` days up to ``now``."""
    span = DAYS * 86_400
    first = now - timedelta(seconds=span)
    pick = _model_table()
    for i in range(start, stop):
        h = (i * 2654435761) & 0xFFFFFFFF  # a cheap, fixed scramble of the row number
        u = ((h >> 8) & 0xFFFFF) / 0x100000
        key = min(keys - 1, int(keys * u**4))  # a steep power law: key 0 is the busiest
        model, provider, upstream, p_in, p_out, _ = MODELS[pick[h % len(pick)]]
        at = first + timedelta(seconds=span * (i + 0.5) / total)
        tokens_in, tokens_out = 200 + h % 3000, 20 + (h >> 4) % 800
        cached = tokens_in // 2 if h % 5 == 0 else 0
        reasoning = tokens_out // 3 if h % 7 == 0 else 0
        error = ERRORS[(h >> 12) % 4] if h % 50 == 0 else None
        status, code = error if error else (200, None)
        if status >= 400:
            tokens_in = tokens_out = cached = reasoning = 0
        cost_in = (tokens_in - cached) * int(p_in * 1000)  # nano-dollars: tokens x USD per million x 1000
        cost_cached = cached * int(p_in * 100)
        cost_out = (tokens_out - reasoning) * int(p_out * 1000)
        cost_reasoning = reasoning * int(p_out * 1000)
        attempts = 2 if h % 40 == 1 else 1
        deployment = f"{provider}-default" if status < 400 else None
        tried = ",".join([f"{provider}-default"] * attempts)
        yield (
            f"req_seed{i:012d}", key_id(key), model, provider, upstream,
            at.strftime("%Y-%m-%d %H:%M:%S.%f"), status, h % 3 == 0, tokens_in - cached, cached, 0, tokens_out,
            reasoning, cost_in + cost_cached + cost_out + cost_reasoning, cost_in, cost_cached, 0, cost_out,
            cost_reasoning, code, 300.0 + h % 4000, 80.0 + h % 600 if status < 400 else None, attempts, deployment,
            tried,
        )  # fmt: skip


def key_rows(start: int, stop: int) -> Iterator[tuple[object, ...]]:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(start, stop):
        digest = hashlib.sha256(secret(i).encode()).hexdigest()
        at = (created + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
        owner, name = f"team-{i % 500}", f"seeded key {i}"
        search = " ".join((name, owner, key_id(i), secret(i)[:10])).casefold()
        yield (key_id(i), name, secret(i)[:10], digest, at, owner, "[]", "monthly", 10**8, 10**11, "{}", search)


KEY_SQL = (
    "INSERT INTO api_keys (id, name, prefix, key_hash, created_at, owner, models, budget_period, rpm, tpm,"
    " metadata, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# ---- SQLite ---------------------------------------------------------------------------------------------


def seed_sqlite(db: Path, keys: int, rows: int, now: datetime) -> dict[str, float]:
    """Load ``keys`` keys and ``rows`` ledger rows into a migrated, empty SQLite file. Returns seconds taken."""
    times: dict[str, float] = {}
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1048576")  # 1 GB while loading
    t0 = time.perf_counter()
    for start in range(0, keys, BATCH):
        conn.execute("BEGIN")
        conn.executemany(KEY_SQL, key_rows(start, min(keys, start + BATCH)))
        conn.execute("COMMIT")
    times["keys_s"] = time.perf_counter() - t0
    for name, _ in LEDGER_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    sql = f"INSERT INTO usage_ledger ({COLUMNS}) VALUES ({', '.join('?' for _ in COLUMNS.split(','))})"
    t0 = time.perf_counter()
    for start in range(0, rows, BATCH):
        conn.execute("BEGIN")
        conn.executemany(sql, ledger_rows(start, min(rows, start + BATCH), rows, keys, now))
        conn.execute("COMMIT")
    times["ledger_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, create in LEDGER_INDEXES:
        conn.execute(create)
    times["indexes_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    for statement in rebuild_statements("sqlite"):
        conn.execute(statement)
    conn.execute("COMMIT")
    times["rollups_s"] = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.sync()
    return {k: round(v, 1) for k, v in times.items()}


# ---- PostgreSQL -----------------------------------------------------------------------------------------


def _copy_text(rows: Iterator[tuple[object, ...]], money: set[int], times: set[int]) -> bytes:
    out = io.StringIO()
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            if v is None:
                cells.append("\\N")
            elif i in money:
                n = int(v)  # type: ignore[call-overload]
                cells.append(f"{n // 1_000_000_000}.{n % 1_000_000_000:09d}")
            elif i in times:
                cells.append(f"{v}+00")
            elif isinstance(v, bool):
                cells.append("t" if v else "f")
            else:
                cells.append(str(v))
        out.write("\t".join(cells) + "\n")
    return out.getvalue().encode()


async def _seed_postgres(dsn: str, schema: str, keys: int, rows: int, now: datetime) -> dict[str, float]:
    import asyncpg

    times: dict[str, float] = {}
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        key_columns = ["id", "name", "prefix", "key_hash", "created_at", "owner", "models", "budget_period", "rpm"]
        key_columns += ["tpm", "metadata", "search"]
        t0 = time.perf_counter()
        for start in range(0, keys, BATCH):
            data = _copy_text(key_rows(start, min(keys, start + BATCH)), set(), {4})
            await conn.copy_to_table("api_keys", source=io.BytesIO(data), columns=key_columns)
        times["keys_s"] = time.perf_counter() - t0
        for name, _ in LEDGER_INDEXES:
            await conn.execute(f"DROP INDEX IF EXISTS {name}")
        columns = [c.strip() for c in COLUMNS.split(",")]
        money = {columns.index(c) for c in columns if c.startswith("cost")}
        t0 = time.perf_counter()
        for start in range(0, rows, BATCH):
            data = _copy_text(ledger_rows(start, min(rows, start + BATCH), rows, keys, now), money, {5})
            await conn.copy_to_table("usage_ledger", source=io.BytesIO(data), columns=columns)
        times["ledger_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _, create in LEDGER_INDEXES:
            await conn.execute(create)
        times["indexes_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        async with conn.transaction():
            for statement in rebuild_statements("postgresql"):
                await conn.execute(statement)
        times["rollups_s"] = time.perf_counter() - t0
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {k: round(v, 1) for k, v in times.items()}


def seed_postgres(dsn: str, schema: str, keys: int, rows: int, now: datetime) -> dict[str, float]:
    return asyncio.run(_seed_postgres(dsn, schema, keys, rows, now))


async def _reset_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def reset_postgres(dsn: str, schema: str) -> None:
    asyncio.run(_reset_schema(dsn, schema))
