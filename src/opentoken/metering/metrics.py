"""Prometheus metrics, observed from the ledger: what is counted is exactly what was durably recorded.

``ObservedLedger`` wraps any ``Ledger``; after each committed batch it updates the counters, so the metrics
and the ledger never disagree and the request path gains no extra work. Exposed at ``GET /metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from opentoken.stores.base import Ledger, UsageQuery, UsageRecord, UsageRow

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
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
        self.requests.labels(rec.model, rec.provider, str(rec.status), rec.error_code or "").inc()
        for kind, n in (
            ("input", rec.input_tokens),
            ("cache_read", rec.cache_read_tokens),
            ("cache_write", rec.cache_write_tokens),
            ("output", rec.output_tokens),
            ("reasoning", rec.reasoning_tokens),
        ):
            if n:
                self.tokens.labels(rec.model, kind).inc(n)
        if rec.cost:
            self.cost.labels(rec.model).inc(float(rec.cost))
        self.attempts.labels(rec.model).inc(rec.attempts)
        self.latency.labels(rec.model, "true" if rec.stream else "false").observe(rec.latency_ms / 1000)
        if rec.ttft_ms is not None:
            self.ttft.labels(rec.model).observe(rec.ttft_ms / 1000)

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
