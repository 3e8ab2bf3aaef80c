"""When to try again, how long to wait, and when to move on to a fallback model."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from opentoken.core.errors import GatewayError, UpstreamBadRequest, UpstreamError, UpstreamServerError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` per model; exponential backoff with full jitter between attempts on the same
    deployment (``base_seconds * 2**(n-1)``, capped at ``max_seconds``). A provider's ``retry-after`` is
    honoured as given; one longer than ``max_seconds`` ends the retries on that deployment."""

    max_attempts: int = 3
    base_seconds: float = 0.25
    max_seconds: float = 8.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1 = the first retry); None: do not retry here."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_seconds else None
        return self.rng.uniform(0, min(self.max_seconds, self.base_seconds * (2 ** (retry - 1))))


def retries(error: GatewayError) -> bool:
    """Another attempt at the same model may succeed: connection errors, timeouts, 429, 5xx, 529."""
    return error.retryable


def falls_back(error: GatewayError) -> bool:
    """Another model may succeed where this one failed: any provider-side failure, and a prompt too long for
    this model's context window. Never a request the provider rejected as invalid."""
    if error.retryable:
        return True
    if isinstance(error, UpstreamBadRequest):
        return error.code == "context_length_exceeded"
    return isinstance(error, UpstreamError)


def blames_deployment(error: GatewayError) -> bool:
    """The deployment is at fault whatever the request: it cannot be reached, timed out, is overloaded or
    over its own rate limit. Counted against it at once."""
    return error.retryable and not isinstance(error, UpstreamServerError)


def may_blame_deployment(error: GatewayError) -> bool:
    """A server error: the deployment's fault, or the request's (some requests make a provider fail every
    time). Counted against the deployment only if another attempt of the same request then succeeds."""
    return isinstance(error, UpstreamServerError)
