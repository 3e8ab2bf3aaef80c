"""Durable usage records at the cost of one commit per batch (group commit).

``record()`` returns only once its record is committed. A single background task writes: when a record
arrives while it is idle it waits up to ``max_delay_ms`` (or until ``max_batch`` records are queued) and
then writes everything queued in ONE ``Ledger.append_many`` transaction; records arriving during a write
form the next batch, which is written as soon as the write returns. Under load the batches grow by
themselves, so throughput follows the database's commit rate times the batch size, while a lone request
pays at most ``max_delay_ms`` plus one commit.

If a write fails, every awaiter of that batch gets a ``LedgerWriteFailed`` (its cause is the database
error). Records whose sender is no longer waiting (``record_nowait``, or a cancelled ``record()``) are
retried a few times, then logged as lost: appends are idempotent by request id, so a retry cannot count
a request twice. ``close()`` writes everything still queued.

Observed (both optional): each commit's latency and batch size, and the queue depth, in ``Metrics``; with
tracing on, each awaited record gets an ``opentoken.ledger.write`` span (from queueing to commit) in the
trace of the request that wrote it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from opentelemetry.trace import Span, StatusCode, Tracer

from opentoken.core.errors import GatewayError
from opentoken.metering.metrics import Metrics
from opentoken.stores.base import Ledger, UsageRecord

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = (0.05, 0.2, 1.0)


class LedgerWriteFailed(GatewayError):
    code = "ledger_write_failed"


@dataclass(slots=True)
class _Item:
    record: UsageRecord
    done: asyncio.Future[None] | None  # None: nobody waits (record_nowait)
    failures: int = 0
    batch: int = 0  # records in the batch that committed it

    @property
    def awaited(self) -> bool:
        return self.done is not None and not self.done.done()


class LedgerWriter:
    def __init__(
        self,
        ledger: Ledger,
        max_batch: int = 256,
        max_delay_ms: float = 2.0,
        max_retries: int = 3,
        *,
        metrics: Metrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._ledger = ledger
        self._max_batch = max_batch
        self._delay = max_delay_ms / 1000
        self._max_retries = max_retries
        self._metrics = metrics
        self._tracer = tracer
        self._pending: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches_written = 0
        self.records_written = 0

    async def start(self) -> None:
        self._ensure_task()

    async def record(self, rec: UsageRecord) -> None:
        """Queue ``rec`` and return once it is committed. Cancelling the caller does not unqueue it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        item = _Item(rec, done)
        self._enqueue(item)
        if self._tracer is None:
            await done
            return
        span = self._tracer.start_span("opentoken.ledger.write", attributes={"opentoken.request.id": rec.request_id})
        try:
            await done
        except LedgerWriteFailed as e:
            _failed(span, e)
            raise
        finally:
            span.set_attribute("opentoken.ledger.batch_records", item.batch)
            span.end()

    def record_nowait(self, rec: UsageRecord) -> None:
        """Queue ``rec`` without waiting (e.g. the client is gone); it is still written, and flushed by close."""
        self._enqueue(_Item(rec, None))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        """Write everything queued, then stop. Records offered after this raise RuntimeError."""
        self._closing = True
        self._wakeup.set()
        self._full.set()
        if self._task is not None:
            await self._task

    def _enqueue(self, item: _Item) -> None:
        if self._closing:
            raise RuntimeError("the ledger writer is closed")
        self._ensure_task()
        self._pending.append(item)
        self._wakeup.set()
        if len(self._pending) >= self._max_batch:
            self._full.set()

    def _ensure_task(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ledger-writer")

    async def _run(self) -> None:
        batch: list[_Item] = []
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    await self._gather_window()
                batch = [self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))]
                if len(self._pending) < self._max_batch and not self._closing:
                    self._full.clear()
                await self._write(batch)
                batch = []
        finally:
            self._abandon([*batch, *self._pending])

    async def _gather_window(self) -> None:
        if self._closing or self._delay <= 0 or len(self._pending) >= self._max_batch:
            return
        try:
            async with asyncio.timeout(self._delay):
                await self._full.wait()
        except TimeoutError:
            pass

    async def _write(self, batch: list[_Item]) -> None:
        started = time.perf_counter()
        try:
            await self._ledger.append_many([item.record for item in batch])
        # The writer task must outlive any database failure; the error is handed to every awaiter below.
        except Exception as e:  # noqa: BLE001
            await self._fail(batch, e)
            return
        if self._metrics is not None:
            self._metrics.commit(time.perf_counter() - started, len(batch))
        self.batches_written += 1
        self.records_written += len(batch)
        for item in batch:
            item.batch = len(batch)
            if item.done is not None and not item.done.done():
                item.done.set_result(None)

    async def _fail(self, batch: list[_Item], error: Exception) -> None:
        retry: list[_Item] = []
        for item in batch:
            if item.awaited:
                assert item.done is not None
                failure = LedgerWriteFailed(f"usage record {item.record.request_id} was not written: {error}")
                failure.__cause__ = error
                item.done.set_exception(failure)
            elif item.failures < self._max_retries:
                item.failures += 1
                retry.append(item)
            else:
                log.error("usage record lost after %d attempts: %r (%s)", item.failures + 1, item.record, error)
        if retry:
            log.warning("ledger write failed (%s); retrying %d unawaited records", error, len(retry))
            self._pending.extendleft(reversed(retry))
            await asyncio.sleep(RETRY_BACKOFF_SECONDS[min(retry[0].failures, len(RETRY_BACKOFF_SECONDS)) - 1])

    def _abandon(self, items: list[_Item]) -> None:
        for item in items:
            if item.awaited:
                assert item.done is not None
                item.done.set_exception(LedgerWriteFailed("the ledger writer stopped before this record"))
            else:
                log.error("usage record lost: the ledger writer stopped: %r", item.record)


def _failed(span: Span, error: LedgerWriteFailed) -> None:
    span.set_attribute("error.type", error.code or type(error).__name__)
    span.set_status(StatusCode.ERROR, error.code)
