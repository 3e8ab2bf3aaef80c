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

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from opentoken.catalog.model import ModelInfo
from opentoken.core.money import COST_QUANTUM
from opentoken.stores.base import ApiKey
from opentoken.stores.counters import Outcome


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


class RefusalCounter(Protocol):
    """Where the limiter counts the admissions it refuses, by reason (``metering.metrics.Metrics`` is one)."""

    def admission_refused(self, reason: str) -> None: ...
