"""``KeyLimiter``: per-key rpm, tpm, concurrency and budget, enforced through a ``CounterStore``.

Reservations are worst-case: tokens ``prompt_tokens + max_output_tokens``, cost ``worst_case_cost`` at the
model's prices. A budget is therefore never overspent by concurrent requests, as long as the actual cost of
a request is not above its worst case (the prompt estimate must not undercount).

The budget counter of a period starts from ``spend_source(key_id, period.start)`` (the ledger) the first
time the period is seen, and from then on grows by settled costs. Keys without limits touch the store only
to record their spend on a counter that already exists (so a budget set again later is still right).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from opentelemetry.trace import Span, Tracer

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import GatewayError, Overloaded, QuotaExceeded, RateLimited
from opentoken.core.money import worst_case_cost
from opentoken.limits.base import (
    Admission,
    RefusalCounter,
    format_reset,
    nanos_down,
    nanos_up,
    rate_limit_headers,
    usd,
)
from opentoken.limits.periods import Period, current_period
from opentoken.stores.base import ApiKey
from opentoken.stores.counters import Ask, CounterStore, ImmediateCounters, Outcome

log = logging.getLogger(__name__)

SpendSource = Callable[[str, datetime | None], Awaitable[Decimal]]
Clock = Callable[[], float]  # unix seconds

DEFAULT_LEASE_SECONDS = 30.0
CONCURRENCY_RETRY_AFTER = 1.0
_BASELINE_ATTEMPTS = 3


class KeyAdmission:
    """An admitted request (``Admission``). ``settle``/``release`` never raise for a lost backend: the
    lease then expires on its own."""

    def __init__(self, limiter: KeyLimiter, ask: Ask, headers: dict[str, str]) -> None:
        self.headers = headers
        self.ask = ask
        self._limiter = limiter
        self._done = False

    async def settle(self, cost: Decimal, tokens: int) -> None:
        if self._claim():
            await self._limiter._finish(self.ask, nanos_up(cost), tokens)

    async def release(self) -> None:
        if self._claim():
            await self._limiter._finish(self.ask, None, 0)

    def _claim(self) -> bool:
        if self._done:
            return False
        self._done = True
        self._limiter._live.pop(self.ask.admission_id, None)
        return True


class KeyLimiter:
    """``Limiter`` over a ``CounterStore``; owns the store (``close`` closes it)."""

    def __init__(
        self,
        counters: CounterStore,
        spend_source: SpendSource,
        clock: Clock = time.time,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        metrics: RefusalCounter | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._metrics = metrics  # refused admissions by reason
        self._tracer = tracer  # an opentoken.admission span per request
        self._counters = counters
        self._now = counters if isinstance(counters, ImmediateCounters) else None  # plain calls, no task
        self._spend_source = spend_source
        self._clock = clock
        self._lease_ms = int(lease_seconds * 1000)
        self._live: dict[str, Ask] = {}  # admissions holding a lease, by admission id
        self._loading: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._loaded: dict[str, tuple[str, float]] = {}  # key id -> (period, loop time of the last load)
        self._renewer: asyncio.Task[None] | None = None
        self._closed = False

    async def admit(self, key: ApiKey, model: ModelInfo, prompt_tokens: int, max_output_tokens: int) -> Admission:
        if self._tracer is None:
            return await self._admit(key, model, prompt_tokens, max_output_tokens, None)
        attributes = {"opentoken.key.id": key.id, "gen_ai.request.model": model.id}
        with self._tracer.start_as_current_span(
            "opentoken.admission", attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            return await self._admit(key, model, prompt_tokens, max_output_tokens, span)

    async def _admit(
        self, key: ApiKey, model: ModelInfo, prompt_tokens: int, max_output_tokens: int, span: Span | None
    ) -> Admission:
        if self._closed:
            raise Overloaded("the gateway is shutting down")
        now = datetime.fromtimestamp(self._clock(), UTC)
        period = current_period(key.budget_period, now)
        ask = self._ask(key, model, prompt_tokens, max_output_tokens, now, period)
        if not ask.tracked:
            if span is not None:
                span.set_attributes({"opentoken.admission.outcome": "granted", "opentoken.admission.limited": False})
            return KeyAdmission(self, ask, {})
        outcome = await self._acquire(ask, key, period)
        if span is not None:
            span.set_attribute("opentoken.admission.outcome", outcome.verdict)
        if outcome.verdict != "granted":
            if self._metrics is not None:
                self._metrics.admission_refused(outcome.verdict)
            denial = _denial(key, ask, outcome, period)
            if span is not None and denial.code:
                span.set_attribute("error.type", denial.code)
            raise denial
        if ask.leased:
            self._live[ask.admission_id] = ask
            self._start_renewer()
        return KeyAdmission(self, ask, rate_limit_headers(key, outcome))

    def _ask(self, key: ApiKey, model: ModelInfo, prompt: int, max_output: int, now: datetime, period: Period) -> Ask:
        now_ms = round(now.timestamp() * 1000)
        budget = key.budget_usd
        reserve = worst_case_cost(prompt, max_output, model.prices) if budget is not None else Decimal(0)
        ttl = period.counter_ttl(now)
        return Ask(
            key_id=key.id,
            admission_id=secrets.token_hex(16),
            now_ms=now_ms,
            period=period.tag,
            budget_ttl_ms=int(ttl.total_seconds() * 1000),
            rpm=key.rpm,
            tpm=key.tpm,
            tokens=prompt + max_output,
            max_concurrent=key.max_concurrent,
            lease_until_ms=now_ms + self._lease_ms,
            budget_nanos=None if budget is None else nanos_down(budget),
            reserve_nanos=nanos_up(reserve),
        )

    async def _acquire(self, ask: Ask, key: ApiKey, period: Period) -> Outcome:
        for _ in range(_BASELINE_ATTEMPTS):
            asked_at = asyncio.get_running_loop().time()
            outcome = await self._acquire_once(ask)
            if outcome.verdict != "baseline":
                return outcome
            await self._load_baseline(key, period, ask.budget_ttl_ms, asked_at)
        raise Overloaded("budget counter could not be initialised")

    async def _acquire_once(self, ask: Ask) -> Outcome:
        """Acquire; if the caller is cancelled meanwhile, whatever was granted is released."""
        if self._now is not None:
            return self._now.acquire_now(ask)  # nothing to wait for, so nothing to cancel midway
        task = asyncio.ensure_future(self._counters.acquire(ask))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(lambda done: self._release_orphan(done, ask))
            raise

    def _release_orphan(self, done: asyncio.Future[Outcome], ask: Ask) -> None:
        if done.cancelled() or done.exception() is not None or done.result().verdict != "granted":
            return
        orphan = asyncio.ensure_future(self._finish(ask, None, 0))
        orphan.add_done_callback(_log_failure)

    async def _load_baseline(self, key: ApiKey, period: Period, ttl_ms: int, asked_at: float) -> None:
        """Load the period's spend from the ledger once per process and period, however many wait.

        A "baseline" answer to an acquire sent before the last load finished is stale: just retry.
        """
        loaded = self._loaded.get(key.id)
        if loaded is not None and loaded[0] == period.tag and loaded[1] >= asked_at:
            return
        slot = (key.id, period.tag)
        task = self._loading.get(slot)
        if task is None:
            task = asyncio.ensure_future(self._init_baseline(key.id, period, ttl_ms))
            self._loading[slot] = task
            task.add_done_callback(lambda _: self._loading.pop(slot, None))
        await asyncio.shield(task)

    async def _init_baseline(self, key_id: str, period: Period, ttl_ms: int) -> None:
        spent = await self._spend_source(key_id, period.start)
        await self._counters.init_budget(key_id, period.tag, nanos_up(spent), ttl_ms)
        self._loaded[key_id] = (period.tag, asyncio.get_running_loop().time())

    async def _finish(self, ask: Ask, cost_nanos: int | None, tokens: int) -> None:
        """Settle (``cost_nanos`` given) or release, shielded from the caller's cancellation."""
        self._live.pop(ask.admission_id, None)
        if not ask.tracked and not cost_nanos:
            return  # nothing was taken, and there is no spend to record
        if self._now is not None:
            if cost_nanos is None:
                self._now.release_now(ask)
            else:
                self._now.settle_now(ask, cost_nanos, tokens)
            return
        if cost_nanos is None:
            work = asyncio.shield(self._counters.release(ask))
        else:
            work = asyncio.shield(self._counters.settle(ask, cost_nanos, tokens))
        try:
            await work
        except Overloaded as e:
            log.warning("limit counters not updated for key %s: %s", ask.key_id, e.message)

    def _start_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while self._live:
            await asyncio.sleep(self._lease_ms / 3000)
            now_ms = round(self._clock() * 1000)
            await self._counters.renew(list(self._live.values()), now_ms, now_ms + self._lease_ms)

    async def close(self) -> None:
        """Stop renewing leases (admissions still in flight then expire) and close the store."""
        if self._closed:
            return
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        self._live.clear()
        await self._counters.close()


def _denial(key: ApiKey, ask: Ask, outcome: Outcome, period: Period) -> GatewayError:
    headers = rate_limit_headers(key, outcome)
    if outcome.verdict == "budget":
        never = ask.reserve_nanos > (ask.budget_nanos or 0)  # no spending could ever make room for it
        return QuotaExceeded(
            _budget_message(ask, outcome, period),
            param="max_tokens" if never else None,
            headers={**headers, "x-should-retry": "false"},
        )
    if outcome.verdict == "concurrency":
        return RateLimited(
            f"Too many concurrent requests for this API key: limit {key.max_concurrent}.",
            retry_after=CONCURRENCY_RETRY_AFTER,
            headers=headers,
        )
    unit, limit, need = ("requests", key.rpm, 1) if outcome.verdict == "requests" else ("tokens", key.tpm, ask.tokens)
    if outcome.wait_ms < 0:
        message = (
            f"Request needs {need} {unit} (prompt estimate + max output), more than this API key's limit of "
            f"{limit} {unit} per minute; lower max_tokens or shorten the prompt."
        )
        return RateLimited(message, headers={**headers, "x-should-retry": "false"})
    wait = max(1, math.ceil(outcome.wait_ms / 1000))
    message = (
        f"Rate limit reached for {unit} per minute on this API key: limit {limit}, requested {need}. "
        f"Try again in {format_reset(outcome.wait_ms)}."
    )
    return RateLimited(message, retry_after=float(wait), headers=headers)


def _budget_message(ask: Ask, outcome: Outcome, period: Period) -> str:
    scope = "in total" if period.end is None else f"until {period.end:%Y-%m-%d %H:%M} UTC"
    if ask.reserve_nanos > (ask.budget_nanos or 0):
        return (
            f"This request may cost up to {_dollars(ask.reserve_nanos)} (prompt estimate + max_tokens at the "
            f"model's prices), more than this API key's whole budget of {_dollars(ask.budget_nanos or 0)} "
            f"{scope}; lower max_tokens (or shorten the prompt), or raise the budget."
        )
    return (
        f"Budget of {_dollars(ask.budget_nanos or 0)} for this API key {scope} is used up: "
        f"{_dollars(outcome.spent)} spent, {_dollars(outcome.reserved)} reserved by requests in flight, "
        f"and this request may cost up to {_dollars(ask.reserve_nanos)}."
    )


def _dollars(nanos: int) -> str:
    amount = usd(nanos)
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount:.2f}"
    return f"${amount.normalize():f}"


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("releasing an orphaned admission failed: %r", task.exception())
