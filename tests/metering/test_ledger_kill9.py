"""A record whose record() returned survives kill -9 of the process (SQLite, WAL, synchronous=NORMAL)."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from pathlib import Path

from opentoken.stores.factory import open_stores

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from decimal import Decimal
    from opentoken.metering.writer import LedgerWriter
    from opentoken.stores.base import UsageRecord
    from opentoken.stores.factory import open_stores

    async def main() -> None:
        stores = await open_stores(sys.argv[1], migrate=True)
        writer = LedgerWriter(stores.ledger, max_delay_ms=2)
        now = datetime.now(UTC)
        records = [
            UsageRecord(f"req_{i}", "key_k", "google/gemini-3-flash", "google", "gemini-3-flash-preview",
                        now, 200, True, input_tokens=i, cost=Decimal("0.000000123"))
            for i in range(25)
        ]
        await asyncio.gather(*(writer.record(r) for r in records))
        print("ok", flush=True)
        await asyncio.sleep(3600)  # killed here, before any clean shutdown

    asyncio.run(main())
    """
)


async def test_recorded_rows_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "kill9.db"
    url = f"sqlite:///{db}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)  # type: ignore[union-attr]
        if line.strip() != b"ok":
            err = await proc.stderr.read()  # type: ignore[union-attr]
            raise AssertionError(f"child did not report ok: {line!r} {err.decode()}")
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    wal = Path(f"{db}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # the rows were still only in the WAL when it died

    stores = await open_stores(url, migrate=False)
    try:
        assert await stores.ledger.count() == 25
        assert {r.request_id for r in await stores.ledger.recent()} == {f"req_{i}" for i in range(25)}
        assert await stores.ledger.spend("key_k", None) == 25 * (await stores.ledger.recent(limit=1))[0].cost
    finally:
        await stores.close()
