"""Turn a finished (or failed, or cut-off) call into its ledger record, cost and settlement."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentoken.catalog.model import ModelInfo
from opentoken.core.money import Cost, cost_of
from opentoken.core.result import ChatResult, Usage
from opentoken.limits.base import Admission
from opentoken.metering.writer import LedgerWriter
from opentoken.stores.base import ApiKey, UsageRecord
from opentoken.telemetry.record import RequestRecord, current_record


@dataclass(slots=True)
class CallMeter:
    """Everything needed to meter one request; created when the request is admitted."""

    request_id: str
    key: ApiKey
    model: ModelInfo
    stream: bool
    admission: Admission
    writer: LedgerWriter
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    attempts: int = 1
    ingress: str = "openai_chat"  # the wire API the call came in on
    deployment: str | None = None  # the deployment that answered
    tried: list[str] = field(default_factory=list)  # every attempt's deployment, in order (filled by the router)
    ignored: tuple[str, ...] = ()
    adjusted: tuple[str, ...] = ()
    done: bool = False
    background: set[asyncio.Task[None]] = field(default_factory=set)
    # the request's observation record (access log, spans), filled with what goes into the ledger
    observed: RequestRecord | None = field(default_factory=current_record)

    def __post_init__(self) -> None:
        if self.observed is not None:
            self.observed.model, self.observed.stream = self.model.id, self.stream

    def answered(self, result: ChatResult) -> None:
        """The provider's reply is complete (its id and finish reasons are observed; nothing is metered)."""
        if self.observed is not None:
            self.observed.answered(result)

    def mark_first_token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def _record(self, usage: Usage, cost: Cost, status: int, error_code: str | None) -> UsageRecord:
        now = time.perf_counter()
        rec = UsageRecord(
            request_id=self.request_id,
            key_id=self.key.id,
            model=self.model.id,
            provider=self.model.provider,
            upstream_model=self.model.upstream_model,
            created_at=datetime.now(UTC),
            status=status,
            stream=self.stream,
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost=cost.total,
            cost_input=cost.input,
            cost_cache_read=cost.cache_read,
            cost_cache_write=cost.cache_write,
            cost_output=cost.output,
            cost_reasoning=cost.reasoning,
            error_code=error_code,
            latency_ms=(now - self.started) * 1000,
            ttft_ms=(self.first_token - self.started) * 1000 if self.first_token is not None else None,
            attempts=self.attempts,
            ingress=self.ingress,
            deployment=self.deployment,
            deployments_tried=tuple(self.tried),
            ignored_params=self.ignored,
            adjusted_params=self.adjusted,
        )
        if self.observed is not None:
            _observe(self.observed, rec, self.model, usage)
        return rec

    async def finish(self, usage: Usage, status: int = 200, error_code: str | None = None) -> Cost:
        """Durably record the call and settle the admission to its actual cost (once)."""
        cost = cost_of(usage, self.model.prices)
        if self.done:
            return cost
        self.done = True
        try:
            await self.writer.record(self._record(usage, cost, status, error_code))
        finally:
            await self.admission.settle(cost.total, usage.total_tokens)
        return cost

    def abandon(self, usage: Usage, status: int, error_code: str | None) -> None:
        """The client went away (the task is being cancelled, so nothing may be awaited here): queue the
        record for the next group commit and settle the admission in a background task."""
        if self.done:
            return
        self.done = True
        cost = cost_of(usage, self.model.prices)
        self.writer.record_nowait(self._record(usage, cost, status, error_code))
        task = asyncio.get_running_loop().create_task(self.admission.settle(cost.total, usage.total_tokens))
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def _observe(observed: RequestRecord, rec: UsageRecord, model: ModelInfo, usage: Usage) -> None:
    observed.metered = True
    observed.key_id, observed.response_model, observed.provider = rec.key_id, rec.model, rec.provider
    observed.upstream_model = observed.upstream_model or model.upstream_model
    observed.usage, observed.cost, observed.attempts = usage, rec.cost, rec.attempts
    observed.error_code = rec.error_code
    observed.ttft = rec.ttft_ms / 1000 if rec.ttft_ms is not None else None
