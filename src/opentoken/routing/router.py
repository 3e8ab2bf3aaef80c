"""Route one request: over the model's deployments, then its fallback models, until an attempt succeeds.

An *attempt* is everything up to the first byte the client would see (for a stream: up to the first content
event, see ``opentoken.routing.calls``), so whatever fails in it can still be tried again unseen.

- Retries: an attempt failing with a retryable error (connection error, timeout, 429, 5xx, 529) is tried
  again, on the next deployment in the order chosen by ``DeploymentPool.order`` right away, or on one that
  already failed after a backoff (``RetryPolicy``: exponential with full jitter, or the provider's
  ``retry-after``), at most ``max_attempts`` times per model and never past the request's deadline.
- Fallbacks: when a model is out of attempts, or fails in a way another model might not (``falls_back``),
  the next model of the chain is tried. A request the provider rejected as invalid ends the request.
- Cooldowns: failures that are the deployment's fault are counted per deployment (``Cooldowns``): it was
  unreachable, timed out, overloaded or rate-limited (``blames_deployment``), or it answered a server error
  to a request that then succeeded on another attempt (``may_blame_deployment``). A request that fails the
  same way everywhere is the request's fault, so one tenant cannot trip the breaker for every tenant. A deployment in cooldown is
  skipped while its model has another deployment that is not; a model whose deployments are all cooling
  down is tried last, after the rest of the chain (so a request is never refused without a try).

The error raised at the end is the last one seen, with ``attempts`` set to the number of upstream attempts.

Observed: every attempt counts in ``opentoken_deployment_attempts_total{deployment,outcome}``; with tracing
on, each attempt is a CLIENT span (the provider's W3C ``traceparent`` points at it). A failed attempt's span
ends with its ``error.type``; the answering attempt's span stays open until the reply is complete
(``RequestRecord.answered``), so a stream's span covers the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, use_span

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import GatewayError, ModelNotFound, UpstreamTimeout
from opentoken.metering.metrics import Metrics
from opentoken.routing.pool import DeploymentPool, Lease
from opentoken.routing.retry import RetryPolicy, blames_deployment, falls_back, may_blame_deployment, retries
from opentoken.stores.counters import HEALTHY, Cooldowns, Health
from opentoken.telemetry.record import RequestRecord, current_record
from opentoken.telemetry.tracing import attempt_attributes
from opentoken.upstream.client import Deployment

log = logging.getLogger(__name__)
T = TypeVar("T")
Attempt = Callable[[ModelInfo, Deployment], Awaitable[T]]


@dataclass(slots=True)
class Routed(Generic[T]):
    """The successful attempt: its value, the model and deployment that answered, and the lease to release
    when the call is over."""

    value: T
    model: ModelInfo
    deployment: Deployment
    attempts: int
    lease: Lease


@dataclass(slots=True)
class _Run:
    deadline: float
    health: Health
    tried: list[str]  # every attempt's deployment, in order
    attempts: int = 0
    last: GatewayError | None = None
    failed_on: dict[tuple[str, str], GatewayError] = field(default_factory=dict)
    suspects: list[str] = field(default_factory=list)  # deployments that answered a server error


class Router:
    def __init__(
        self,
        pool: DeploymentPool,
        cooldowns: Cooldowns,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracer = tracer
        self.pool = pool
        self.cooldowns = cooldowns
        self.policy = policy
        self._clock = clock
        self._sleep = sleep

    async def route(
        self, chain: Sequence[ModelInfo], attempt: Attempt[T], deadline: float, tried: list[str] | None = None
    ) -> Routed[T]:
        """Try ``attempt`` on the deployments of ``chain[0]``, then of each fallback, as described above.
        The name of each deployment attempted is appended to ``tried`` (kept also when routing fails)."""
        plan, health = await self._plan(chain)
        run = _Run(deadline=deadline, health=health, tried=[] if tried is None else tried)
        for model, deployments in plan:
            routed = await self._try_model(model, deployments, attempt, run)
            if routed is not None:
                return routed
            if self._clock() >= deadline:
                break
        error = run.last or UpstreamTimeout("The request ran out of time before any upstream attempt.")
        error.attempts = run.attempts
        raise error

    async def _plan(self, chain: Sequence[ModelInfo]) -> tuple[list[tuple[ModelInfo, list[Deployment]]], Health]:
        served: list[tuple[ModelInfo, list[Deployment]]] = []
        for i, model in enumerate(chain):
            try:
                served.append((model, self.pool.serving(model)))
            except ModelNotFound:
                if i == 0:
                    raise
                log.warning("fallback %s skipped: no deployment serves it", model.id)
        names = list(dict.fromkeys(d.name for _, ds in served for d in ds))
        health = HEALTHY if len(names) < 2 else await self.cooldowns.health(names)
        ready: list[tuple[ModelInfo, list[Deployment]]] = []
        last_resort: list[tuple[ModelInfo, list[Deployment]]] = []
        for model, deployments in served:
            fresh = [d for d in deployments if d.name not in health.cooling]
            if fresh:
                ready.append((model, self.pool.order(fresh)))
            else:
                last_resort.append((model, self.pool.order(deployments)))
        return ready + last_resort, health

    async def _try_model(
        self, model: ModelInfo, deployments: list[Deployment], attempt: Attempt[T], run: _Run
    ) -> Routed[T] | None:
        for tries in range(self.policy.max_attempts):
            deployment = deployments[tries % len(deployments)]
            earlier = run.failed_on.get((model.id, deployment.name))
            if earlier is not None and not await self._backoff(tries - len(deployments) + 1, earlier, run):
                return None
            if self._clock() >= run.deadline:
                return None
            run.attempts += 1
            run.tried.append(deployment.name)
            lease = self.pool.acquire(deployment)
            record = current_record()
            if record is not None:
                record.deployment, record.provider_semconv = deployment.name, deployment.provider.semconv_name
            span = self._span(model, deployment, run.attempts, record)
            try:
                if span is None:
                    value = await attempt(model, deployment)
                else:
                    with use_span(span, record_exception=False, set_status_on_exception=False):
                        value = await attempt(model, deployment)
            except GatewayError as e:
                lease.release()
                self.pool.stats.record(deployment.name, ok=False)
                self._failed(deployment, e.code or type(e).__name__, span)
                run.last = run.failed_on[model.id, deployment.name] = e
                log.info("attempt %d on %s (%s) failed: %r", run.attempts, deployment.name, model.id, e)
                if blames_deployment(e):
                    await self._count_failure(deployment.name)
                elif may_blame_deployment(e):
                    run.suspects.append(deployment.name)
                if retries(e):
                    continue
                if falls_back(e):
                    return None
                e.attempts = run.attempts
                raise
            except BaseException:
                lease.release()
                self._failed(deployment, "cancelled", span)
                raise
            for name in run.suspects:  # they failed a request that could be answered: their fault
                if name != deployment.name:
                    await self._count_failure(name)
            self.cooldowns.succeeded(deployment.name)
            if self._metrics is not None:
                self._metrics.attempt(deployment.name, "ok")
            if span is not None:
                if record is not None:
                    record.upstream_span = span  # ended when the reply is complete
                else:
                    span.end()
            self.pool.stats.record(deployment.name, ok=True)
            return Routed(value, model, deployment, run.attempts, lease)
        return None

    async def _count_failure(self, name: str) -> None:
        if await self.cooldowns.failed(name):
            log.warning("deployment %s is cooling down after repeated failures", name)

    def _span(
        self, model: ModelInfo, deployment: Deployment, attempt: int, record: RequestRecord | None
    ) -> Span | None:
        if self._tracer is None:
            return None
        span = self._tracer.start_span(f"chat {model.upstream_model}", kind=SpanKind.CLIENT)
        if span.is_recording():  # not sampled: skip describing it
            attributes = attempt_attributes(
                provider_semconv=deployment.provider.semconv_name,
                upstream_model=model.upstream_model,
                deployment=deployment.name,
                base_url=deployment.base_url,
                attempt=attempt,
                stream=record.stream if record is not None else None,
            )
            span.set_attributes(attributes)
        return span

    def _failed(self, deployment: Deployment, outcome: str, span: Span | None) -> None:
        if self._metrics is not None:
            self._metrics.attempt(deployment.name, outcome)
        if span is not None:
            span.set_attribute("error.type", outcome)
            span.set_status(StatusCode.ERROR, outcome)
            span.end()

    async def _backoff(self, retry: int, error: GatewayError, run: _Run) -> bool:
        """Wait before trying a deployment again; False when the wait is not allowed or would pass the deadline."""
        wait = self.policy.delay(max(1, retry), error.retry_after)
        if wait is None or self._clock() + wait >= run.deadline:
            return False
        await self._sleep(wait)
        return True
