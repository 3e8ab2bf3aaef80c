"""What the request pipeline calls to admit a request, and the small atomic counter interface beneath it.

The pipeline asks a ``Limiter`` to ``admit`` a request before the upstream call. Admission is all or nothing:
in one atomic step on a ``CounterStore`` it counts the request against ``rpm``, reserves tokens against
``tpm`` (prompt estimate + max output), takes a concurrency slot against ``max_concurrent`` and reserves the
worst-case cost against the budget. Afterwards the pipeline calls exactly one of ``Admission.settle`` (the
call happened: cost and tokens become the actual ones, the difference is freed) or ``Admission.release``
(the call failed without usage: everything the admission held is freed, the request is not counted).

Windows are sliding: ``rpm`` and ``tpm`` hold over any 60 seconds. Concurrency slots and budget
reservations are leases that the owning process renews; a process that dies stops renewing and its
leases expire, so a dead replica cannot hold slots or budget forever.

Money crosses the ``CounterStore`` as integer nano-dollars (``COST_QUANTUM``), so backends add integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol

from opentoken.catalog.model import ModelInfo
from opentoken.core.money import COST_QUANTUM
from opentoken.stores.base import ApiKey

WINDOW_MS = 60_000  # rpm and tpm are per minute, over a sliding window

Verdict = Literal["granted", "baseline", "budget", "concurrency", "requests", "tokens"]


class Admission(Protocol):
    """An admitted request. Exactly one of ``settle`` / ``release`` is called; both are idempotent."""

    headers: dict[str, str]  # x-ratelimit-* for the successful response

    async def settle(self, cost: Decimal, tokens: int) -> None: ...
    async def release(self) -> None: ...


class Limiter(Protocol):
    async def admit(self, key: ApiKey, model: ModelInfo, prompt_tokens: int, max_output_tokens: int) -> Admission:
        """Admit or raise ``RateLimited`` / ``QuotaExceeded`` (message, retry_after and headers set)."""
        ...

    async def close(self) -> None:
        """Stop lease renewal and close the counter backend."""
        ...


@dataclass(frozen=True, slots=True)
class Ask:
    """One admission as the counter store sees it; it is also the handle for settle, release and renew.

    A ``None`` limit is not tracked. ``period`` names the budget period counter ("d2025-06-01", "all");
    ``budget_ttl_ms`` is how long that counter should live from ``now_ms``.
    """

    key_id: str
    admission_id: str
    now_ms: int
    period: str
    budget_ttl_ms: int
    rpm: int | None = None
    tpm: int | None = None
    tokens: int = 0
    max_concurrent: int | None = None
    lease_until_ms: int = 0
    budget_nanos: int | None = None
    reserve_nanos: int = 0

    @property
    def leased(self) -> bool:
        """Whether the admission holds a lease (a concurrency slot and/or a budget reservation)."""
        return self.max_concurrent is not None or self.budget_nanos is not None

    @property
    def tracked(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.leased


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``CounterStore.acquire`` decided and the counts it saw.

    ``*_used`` include this request when granted. ``*_reset_ms`` is the time until that window is empty
    again. ``wait_ms`` is, for a denial by requests or tokens, the time until this request would fit
    (-1: never, it is larger than the limit). ``spent`` / ``reserved`` are nano-dollars this period.
    """

    verdict: Verdict
    requests_used: int = 0
    requests_reset_ms: int = 0
    tokens_used: int = 0
    tokens_reset_ms: int = 0
    wait_ms: int = 0
    concurrent: int = 0
    spent: int = 0
    reserved: int = 0


class CounterStore(Protocol):
    """Atomic counters shared by every process that uses the same backend."""

    async def acquire(self, ask: Ask) -> Outcome:
        """Check every tracked limit and, only if all pass, take them all, in one atomic step.

        First frees leases that expired and window entries older than ``WINDOW_MS``. Returns verdict
        ``baseline`` when a budget is tracked but the period's counter was never initialised.
        """
        ...

    async def init_budget(self, key_id: str, period: str, spent_nanos: int, ttl_ms: int) -> None:
        """Set the period's settled spend, only if it is not set yet (so racing processes agree)."""
        ...

    async def settle(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        """Free the lease and reservation; record the actual cost (if the period counter exists) and
        replace the token reservation by ``tokens``. The request stays counted."""
        ...

    async def release(self, ask: Ask) -> None:
        """Free everything the admission took, including its place in the request window."""
        ...

    async def renew(self, asks: list[Ask], now_ms: int, until_ms: int) -> None:
        """Extend the leases of admissions still in flight (leases already gone stay gone)."""
        ...

    async def close(self) -> None: ...


def nanos_up(amount: Decimal) -> int:
    """USD -> integer nano-dollars, rounded up (reservations and costs are never under-counted)."""
    return int((amount / COST_QUANTUM).to_integral_value(rounding=ROUND_CEILING))


def nanos_down(amount: Decimal) -> int:
    """USD -> integer nano-dollars, rounded down (a budget is never rounded up)."""
    return int((amount / COST_QUANTUM).to_integral_value(rounding=ROUND_FLOOR))


def usd(nanos: int) -> Decimal:
    """Integer nano-dollars -> USD (exact)."""
    return Decimal(nanos) * COST_QUANTUM


def format_reset(ms: int) -> str:
    """A duration the way OpenAI writes x-ratelimit-reset-* (Go duration syntax): 20ms, 1.5s, 6m0s."""
    ms = max(ms, 0)
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    seconds = f"{rest // 1000}" if rest % 1000 == 0 else f"{rest / 1000:.3f}".rstrip("0")
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def rate_limit_headers(key: ApiKey, outcome: Outcome) -> dict[str, str]:
    """OpenAI-style x-ratelimit-* headers for the limits the key has (none for an unlimited key)."""
    headers: dict[str, str] = {}
    if key.rpm is not None:
        headers["x-ratelimit-limit-requests"] = str(key.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(key.rpm - outcome.requests_used, 0))
        headers["x-ratelimit-reset-requests"] = format_reset(outcome.requests_reset_ms)
    if key.tpm is not None:
        headers["x-ratelimit-limit-tokens"] = str(key.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(key.tpm - outcome.tokens_used, 0))
        headers["x-ratelimit-reset-tokens"] = format_reset(outcome.tokens_reset_ms)
    return headers
