"""LedgerWriter: group commit, durability on return, error propagation, flush on close."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from opentoken.metering.writer import LedgerWriteFailed, LedgerWriter
from opentoken.stores.base import UsageRecord
from opentoken.stores.factory import open_stores
from opentoken.stores.memory import MemoryLedger

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def rec(n: int) -> UsageRecord:
    return UsageRecord(
        request_id=f"req_{n}",
        key_id="key_w",
        model="google/gemini-3-flash",
        provider="google",
        upstream_model="gemini-3-flash-preview",
        created_at=NOW,
        status=200,
        stream=True,
        input_tokens=n,
        cost=Decimal("0.000000001") * n,
    )


class RecordingLedger(MemoryLedger):
    """A memory ledger that records each append_many batch and can be slow or fail on demand."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.delay = delay
        self.failures: list[Exception] = []

    async def append_many(self, records: Sequence[UsageRecord]) -> None:
        self.batches.append([r.request_id for r in records])
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        await super().append_many(records)


async def test_concurrent_records_share_one_transaction() -> None:
    ledger = RecordingLedger()
    writer = LedgerWriter(ledger, max_batch=256, max_delay_ms=5)
    await writer.start()
    await asyncio.gather(*(writer.record(rec(i)) for i in range(200)))
    assert await ledger.count() == 200  # every record is in the ledger when record() returns
    assert len(ledger.batches) == 1 and len(ledger.batches[0]) == 200
    assert (writer.batches_written, writer.records_written) == (1, 200)
    await writer.close()


async def test_batches_are_capped_and_keep_order() -> None:
    ledger = RecordingLedger()
    writer = LedgerWriter(ledger, max_batch=4, max_delay_ms=50)
    await asyncio.gather(*(writer.record(rec(i)) for i in range(10)))
    assert ledger.batches == [[f"req_{i}" for i in range(j, min(j + 4, 10))] for j in (0, 4, 8)]
    await writer.close()


async def test_records_arriving_during_a_write_form_the_next_batch() -> None:
    ledger = RecordingLedger(delay=0.05)
    writer = LedgerWriter(ledger, max_delay_ms=0)
    first = asyncio.create_task(writer.record(rec(0)))
    await asyncio.sleep(0.01)  # the first write is in progress
    rest = [asyncio.create_task(writer.record(rec(i))) for i in range(1, 6)]
    await asyncio.gather(first, *rest)
    assert ledger.batches == [["req_0"], ["req_1", "req_2", "req_3", "req_4", "req_5"]]
    await writer.close()


async def test_a_lone_record_is_not_held_long() -> None:
    writer = LedgerWriter(RecordingLedger(), max_delay_ms=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await writer.record(rec(1))
    assert loop.time() - started < 0.2
    await writer.close()


async def test_a_failed_write_raises_to_every_awaiter_of_the_batch() -> None:
    ledger = RecordingLedger()
    boom = OSError("disk full")
    ledger.failures.append(boom)
    writer = LedgerWriter(ledger, max_delay_ms=5)
    results = await asyncio.gather(*(writer.record(rec(i)) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, LedgerWriteFailed) and r.__cause__ is boom for r in results)
    assert "disk full" in str(results[0])
    assert await ledger.count() == 0
    await writer.record(rec(9))  # the writer survives and keeps writing
    assert await ledger.count() == 1
    await writer.close()


async def test_unawaited_records_are_retried_and_flushed_on_close() -> None:
    ledger = RecordingLedger()
    ledger.failures.append(ConnectionResetError("connection lost"))
    writer = LedgerWriter(ledger, max_delay_ms=1)
    writer.record_nowait(rec(1))
    writer.record_nowait(rec(2))
    await writer.close()
    assert [r.request_id for r in await ledger.recent()] == ["req_2", "req_1"]
    assert len(ledger.batches) == 2  # the failed attempt, then the retry


async def test_a_cancelled_caller_does_not_unqueue_its_record() -> None:
    ledger = RecordingLedger(delay=0.02)
    writer = LedgerWriter(ledger, max_delay_ms=1)
    task = asyncio.create_task(writer.record(rec(1)))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await writer.close()
    assert await ledger.count() == 1


async def test_records_after_close_are_refused() -> None:
    writer = LedgerWriter(RecordingLedger())
    await writer.start()
    await writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        await writer.record(rec(1))
    with pytest.raises(RuntimeError, match="closed"):
        writer.record_nowait(rec(2))


async def test_group_commit_on_sqlite_is_durable_on_return(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    stores = await open_stores(url, migrate=True)
    writer = LedgerWriter(stores.ledger, max_batch=64, max_delay_ms=5)
    await asyncio.gather(*(writer.record(rec(i)) for i in range(150)))
    assert writer.batches_written <= 6 and writer.records_written == 150
    other = await open_stores(url, migrate=False)  # a second engine: sees only what was committed
    assert await other.ledger.count() == 150
    assert await other.ledger.spend("key_w", None) == Decimal("0.000000001") * sum(range(150))
    await other.close()
    await writer.close()
    await stores.close()
