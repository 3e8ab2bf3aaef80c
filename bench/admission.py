"""What one admission costs on each candidate for counters shared by the workers of ``serve --workers N``:

- ``memory``: ``MemoryCounters`` in the process (one worker only: the floor);
- ``supervisor``: ``LocalCounters`` over a Unix socket to a ``CounterServer`` in another process (what
  ``serve --workers N`` uses), one client in turn, and 64 admissions in flight at once;
- ``sqlite``: a counter table in the gateway's SQLite file (WAL, ``synchronous=NORMAL``), one ``BEGIN
  IMMEDIATE`` transaction to admit (read the window, add the request) and one to settle, through the plain
  ``sqlite3`` module on the calling thread: a lower bound for an SQLite ``CounterStore`` (no thread hop, no
  leases, tpm or budget rows).

An admission is the ``acquire`` and the ``settle`` of one request with rpm, tpm and budget limits, as the
benchmark key of the saturation sections has.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import cpu_seconds, wait_path
from opentoken.stores.counters import Ask, CounterStore
from opentoken.stores.local.counters import LocalCounters
from opentoken.stores.local.link import SupervisorLink
from opentoken.stores.local.server import CounterServer
from opentoken.stores.memory.counters import MemoryCounters

Result = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent


def _ask(n: int, now_ms: int) -> Ask:
    return Ask(
        key_id="key_bench",
        admission_id=f"a{n}",
        now_ms=now_ms,
        period="all",
        budget_ttl_ms=0,
        rpm=100_000_000,
        tpm=100_000_000_000,
        tokens=1024,
        lease_until_ms=now_ms + 30_000,
        budget_nanos=10**18,
        reserve_nanos=20_000,
    )


async def _admissions(store: CounterStore, n: int, in_flight: int) -> float:
    """Seconds for ``n`` acquire + settle pairs, ``in_flight`` at a time."""
    await store.init_budget("key_bench", "all", 0, 0)

    async def one(i: int) -> None:
        ask = _ask(i, int(time.time() * 1000))
        outcome = await store.acquire(ask)
        assert outcome.verdict == "granted", outcome
        await store.settle(ask, 15_000, 100)

    started = time.perf_counter()
    for batch in range(0, n, in_flight):
        await asyncio.gather(*(one(i) for i in range(batch, min(n, batch + in_flight))))
    return time.perf_counter() - started


def serve_counters(path: str) -> None:
    """The supervisor's side alone (``python -c``): serves counters on ``path`` until killed."""

    async def run() -> None:
        server = CounterServer()
        await server.start(path)
        await asyncio.Event().wait()

    import uvloop

    uvloop.run(run())


async def _supervisor(n: int) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "s.sock")
        code = f"from bench.admission import serve_counters; serve_counters({path!r})"
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        try:
            wait_path(path, proc)
            store = LocalCounters(await SupervisorLink.connect(path))
            await _admissions(store, n // 10, 1)  # warm
            out: Result = {}
            for in_flight in (1, 64):
                cpu0, own0 = cpu_seconds(proc.pid), time.process_time()
                seconds = await _admissions(store, n, in_flight)
                server_cpu, own = cpu_seconds(proc.pid) - cpu0, time.process_time() - own0
                out[f"in_flight_{in_flight}"] = {
                    "us_per_admission": round(seconds * 1e6 / n, 1),
                    "worker_cpu_us_per_admission": round(own * 1e6 / n, 1),
                    "supervisor_cpu_us_per_admission": round(server_cpu * 1e6 / n, 1),
                }
            await store.close()
            return out
        finally:
            proc.kill()
            proc.wait()


def _sqlite(n: int) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(os.path.join(folder, "c.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("CREATE TABLE window (key TEXT, aid TEXT PRIMARY KEY, at INTEGER, tokens INTEGER)")
        db.execute("CREATE INDEX ix_window ON window (key, at)")
        db.execute("CREATE TABLE totals (key TEXT PRIMARY KEY, requests INT, tokens INT, spent INT, reserved INT)")
        db.execute("INSERT INTO totals VALUES ('key_bench', 0, 0, 0, 0)")
        started = time.perf_counter()
        cpu0 = time.process_time()
        for i in range(n):  # running totals (no scan of the window); entries expire after 60 s, not in this run
            now = int(time.time() * 1000)
            db.execute("BEGIN IMMEDIATE")
            db.execute("SELECT at FROM window WHERE key = ? AND at <= ?", ("key_bench", now - 60_000)).fetchall()
            db.execute("SELECT requests, tokens, spent, reserved FROM totals WHERE key = ?", ("key_bench",)).fetchone()
            db.execute("INSERT INTO window VALUES (?, ?, ?, ?)", ("key_bench", f"a{i}", now, 1024))
            db.execute(
                "UPDATE totals SET requests = requests + 1, tokens = tokens + 1024, reserved = reserved + 20000 "
                "WHERE key = ?",
                ("key_bench",),
            )
            db.execute("COMMIT")
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE window SET tokens = 100 WHERE aid = ?", (f"a{i}",))
            db.execute(
                "UPDATE totals SET tokens = tokens - 924, reserved = reserved - 20000, spent = spent + 15000 "
                "WHERE key = ?",
                ("key_bench",),
            )
            db.execute("COMMIT")
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        db.close()
    return {"us_per_admission": round(seconds * 1e6 / n, 1), "cpu_us_per_admission": round(cpu * 1e6 / n, 1)}


def measure(n: int = 20_000) -> Result:
    """µs per admission (acquire + settle) on each candidate."""
    own0 = time.process_time()
    memory_seconds = asyncio.run(_admissions(MemoryCounters(), n, 1))
    own = time.process_time() - own0
    return {
        "admissions": n,
        "memory": {
            "us_per_admission": round(memory_seconds * 1e6 / n, 1),
            "worker_cpu_us_per_admission": round(own * 1e6 / n, 1),
        },
        "supervisor": asyncio.run(_supervisor(n)),
        "sqlite": _sqlite(n),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000), indent=1))
