"""How many usage records per second the LedgerWriter makes durable, and what one record() costs a request.

    .venv/bin/python bench/ledger_writer.py [--writers 200] [--per-writer 50] [--backends sqlite,postgresql]

For each backend it opens a fresh database (a temp SQLite file; a throw-away schema in PostgreSQL at
--postgres), runs --writers concurrent tasks that each await record() --per-writer times, and prints the
throughput, the record() latency percentiles and the average batch (transaction) size. It then measures a
lone writer (no concurrency): the latency that metering adds to one request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from opentoken.metering.writer import LedgerWriter
from opentoken.stores.base import UsageRecord
from opentoken.stores.factory import Stores, open_stores


def record(n: int) -> UsageRecord:
    return UsageRecord(
        request_id=f"req_{uuid.uuid4().hex}",
        key_id=f"key_{n % 20}",
        model="google/gemini-3-flash",
        provider="google",
        upstream_model="gemini-3-flash-preview",
        created_at=datetime.now(UTC),
        status=200,
        stream=True,
        input_tokens=1200,
        output_tokens=300,
        cost=Decimal("0.001234567"),
        cost_input=Decimal("0.000600000"),
        cost_output=Decimal("0.000634567"),
        latency_ms=420.0,
        ttft_ms=80.0,
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def concurrent_run(stores: Stores, writers: int, per_writer: int, delay_ms: float) -> str:
    writer = LedgerWriter(stores.ledger, max_batch=256, max_delay_ms=delay_ms)
    await writer.start()
    latencies: list[float] = []

    async def one_writer(w: int) -> None:
        for i in range(per_writer):
            started = time.perf_counter()
            await writer.record(record(w * per_writer + i))
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one_writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - started
    await writer.close()
    total = writers * per_writer
    assert await stores.ledger.count() >= total
    return (
        f"{writers} writers x {per_writer}: {total / elapsed:,.0f} records/s; record() p50 "
        f"{pct(latencies, 0.5):.2f} ms, p99 {pct(latencies, 0.99):.2f} ms; "
        f"{writer.batches_written} transactions, avg batch {writer.records_written / writer.batches_written:.1f}"
    )


async def lone_run(stores: Stores, count: int, delay_ms: float) -> str:
    writer = LedgerWriter(stores.ledger, max_delay_ms=delay_ms)
    await writer.start()
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        await writer.record(record(i))
        latencies.append((time.perf_counter() - started) * 1000)
    await writer.close()
    return (
        f"lone writer, {count} sequential records: record() mean {statistics.fmean(latencies):.2f} ms, "
        f"p50 {pct(latencies, 0.5):.2f} ms, p99 {pct(latencies, 0.99):.2f} ms"
    )


async def bench_backend(backend: str, args: argparse.Namespace) -> None:
    schema = f"ot_bench_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='ot-bench-')}/ledger.db"
    else:
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    stores = await open_stores(url, migrate=True)
    try:
        print(f"[{backend}] {await concurrent_run(stores, args.writers, args.per_writer, args.max_delay_ms)}")
        print(f"[{backend}] {await lone_run(stores, args.lone, args.max_delay_ms)}")
        print(f"[{backend}] {await lone_run(stores, args.lone, 0)} (max_delay_ms=0)")
    finally:
        await stores.close()
        if backend == "postgresql":
            conn = await asyncpg.connect(args.postgres)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=200)
    parser.add_argument("--per-writer", type=int, default=50)
    parser.add_argument("--lone", type=int, default=300)
    parser.add_argument("--max-delay-ms", type=float, default=2.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        await bench_backend(backend.strip(), args)


if __name__ == "__main__":
    asyncio.run(main())
