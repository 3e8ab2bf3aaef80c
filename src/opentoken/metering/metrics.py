"""Prometheus metrics, observed from the ledger: what is counted is exactly what was durably recorded.

``ObservedLedger`` wraps any ``Ledger``; after each committed batch it updates the counters, so the metrics
and the ledger never disagree and the request path gains no extra work. Exposed at ``GET /metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from opentoken.stores.base import Ledger, RequestQuery, RollupQuery, UsageQuery, UsageRecord, UsageRow

_TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


@dataclass(frozen=True, slots=True)
class _Children:
    """The labelled series one (model, provider, status, error, stream) combination updates."""

    requests: Counter
    tokens: tuple[Counter, ...]
    cost: Counter
    attempts: Counter
    latency: Histogram
    ttft: Histogram


class Metrics:
    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int, str | None, bool], _Children] = {}
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "opentoken_requests",
            "Requests that reached a provider",
            ["model", "provider", "status", "error"],
            registry=r,
        )
        self.tokens = Counter("opentoken_tokens", "Tokens by kind", ["model", "kind"], registry=r)
        self.cost = Counter("opentoken_cost_usd", "Cost in USD", ["model"], registry=r)
        self.attempts = Counter("opentoken_upstream_attempts", "Upstream attempts", ["model"], registry=r)
        self.latency = Histogram(
            "opentoken_request_seconds", "Request latency", ["model", "stream"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.ttft = Histogram(
            "opentoken_time_to_first_token_seconds",
            "Time to first token",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def observe(self, rec: UsageRecord) -> None:
        children = self._children.get((rec.model, rec.provider, rec.status, rec.error_code, rec.stream))
        if children is None:
            children = self._children[(rec.model, rec.provider, rec.status, rec.error_code, rec.stream)] = _Children(
                requests=self.requests.labels(rec.model, rec.provider, str(rec.status), rec.error_code or ""),
                tokens=tuple(self.tokens.labels(rec.model, kind) for kind in _TOKEN_KINDS),
                cost=self.cost.labels(rec.model),
                attempts=self.attempts.labels(rec.model),
                latency=self.latency.labels(rec.model, "true" if rec.stream else "false"),
                ttft=self.ttft.labels(rec.model),
            )
        children.requests.inc()
        counts = (
            rec.input_tokens,
            rec.cache_read_tokens,
            rec.cache_write_tokens,
            rec.output_tokens,
            rec.reasoning_tokens,
        )
        for child, n in zip(children.tokens, counts, strict=True):
            if n:
                child.inc(n)
        if rec.cost:
            children.cost.inc(float(rec.cost))
        children.attempts.inc(rec.attempts)
        children.latency.observe(rec.latency_ms / 1000)
        if rec.ttft_ms is not None:
            children.ttft.observe(rec.ttft_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ObservedLedger:
    """A Ledger that reports every committed record to ``Metrics``."""

    def __init__(self, inner: Ledger, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def append_many(self, records: Sequence[UsageRecord]) -> None:
        await self._inner.append_many(records)
        for rec in records:
            self._metrics.observe(rec)

    async def spend(self, key_id: str, since: datetime | None) -> Decimal:
        return await self._inner.spend(key_id, since)

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        return await self._inner.usage(query)

    async def recent(self, limit: int = 100, key_id: str | None = None) -> list[UsageRecord]:
        return await self._inner.recent(limit, key_id)

    async def count(self) -> int:
        return await self._inner.count()

    async def rollup(self, query: RollupQuery) -> list[UsageRow]:
        return await self._inner.rollup(query)

    async def top_keys(self, month: str, limit: int) -> list[UsageRow]:
        return await self._inner.top_keys(month, limit)

    async def page(self, query: RequestQuery) -> list[UsageRecord]:
        return await self._inner.page(query)

    async def get(self, request_id: str) -> UsageRecord | None:
        return await self._inner.get(request_id)
