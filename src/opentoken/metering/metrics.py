"""Prometheus metrics, exposed at ``GET /metrics`` (docs/operations.md lists every series).

Per-call series are observed from the ledger: ``ObservedLedger`` wraps any ``Ledger`` and, after each
committed batch, updates the request, token, cost, attempt and latency series, so what is counted is
exactly what was durably recorded and the request path gains no extra work. The operational series are
fed where they happen: HTTP latency and requests in flight by the request middleware
(``opentoken.http.observe``), refused admissions by the limiter, upstream attempts by deployment and
outcome by the router, ledger queue depth and commit latency by the ledger writer. Gauges read their value
when scraped (``set_function``), so keeping them costs nothing per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from opentoken.stores.base import Ledger, RequestQuery, RollupQuery, UsageQuery, UsageRecord, UsageRow

_TOKEN_KINDS = ("input", "cache_read", "cache_write", "output", "reasoning")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# the label values of opentoken_http_request_duration_seconds{route} (bounded: anything else is "other")
ROUTES = frozenset(("/v1/chat/completions", "/v1/models", "/v1/key", "/metrics", "/healthz", "/readyz"))


_METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    if path.startswith("/admin/"):
        return "/admin"
    return "other"


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

        self.http_latency = Histogram(
            "opentoken_http_request_duration_seconds",
            "HTTP request duration, from the first byte received to the last byte sent (every request)",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("opentoken_requests_in_flight", "HTTP requests being served", registry=r)
        self.refused = Counter(
            "opentoken_admissions_refused",
            "Requests refused by the limits before any upstream call",
            ["reason"],
            registry=r,
        )
        self.deployment_attempts = Counter(
            "opentoken_deployment_attempts",
            "Upstream attempts by deployment and outcome (ok, or the error code)",
            ["deployment", "outcome"],
            registry=r,
        )
        self.ledger_queue = Gauge(
            "opentoken_ledger_queue_depth", "Usage records waiting for the next ledger commit", registry=r
        )
        self.ledger_commit = Histogram(
            "opentoken_ledger_commit_seconds",
            "Time to commit one batch of usage records",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )
        self.ledger_batch = Histogram(
            "opentoken_ledger_commit_records",
            "Usage records per committed batch",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self._http: dict[tuple[str, str, int], Histogram] = {}
        self._attempts: dict[tuple[str, str], Counter] = {}

    def watch(self, in_flight: Callable[[], float], ledger_queue: Callable[[], float]) -> None:
        """Read the two gauges from their owners at scrape time."""
        self.in_flight.set_function(in_flight)
        self.ledger_queue.set_function(ledger_queue)

    def http_request(self, path: str, method: str, status: int, seconds: float) -> None:
        key = (route_of(path), method if method in _METHODS else "other", status)
        child = self._http.get(key)
        if child is None:
            child = self._http[key] = self.http_latency.labels(key[0], key[1], str(status))
        child.observe(seconds)

    def admission_refused(self, reason: str) -> None:
        self.refused.labels(reason).inc()

    def attempt(self, deployment: str, outcome: str) -> None:
        key = (deployment, outcome)
        child = self._attempts.get(key)
        if child is None:
            child = self._attempts[key] = self.deployment_attempts.labels(deployment, outcome)
        child.inc()

    def commit(self, seconds: float, records: int) -> None:
        self.ledger_commit.observe(seconds)
        self.ledger_batch.observe(records)

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
