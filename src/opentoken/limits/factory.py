"""Build the limiter and the key-change bus for one process, over the counters ``stores.factory`` opens."""

from __future__ import annotations

import time

from opentelemetry.trace import Tracer

from opentoken.limits.base import Limiter, RefusalCounter
from opentoken.limits.limiter import DEFAULT_LEASE_SECONDS, Clock, KeyLimiter, SpendSource
from opentoken.stores.base import InvalidationBus
from opentoken.stores.counters import DEFAULT_PREFIX
from opentoken.stores.factory import open_counters


async def open_limits(
    redis_url: str | None,
    spend_source: SpendSource,
    *,
    prefix: str = DEFAULT_PREFIX,
    clock: Clock = time.time,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    metrics: RefusalCounter | None = None,
    tracer: Tracer | None = None,
    supervisor: str | None = None,
) -> tuple[Limiter, InvalidationBus]:
    """Without ``redis_url``: counters and bus in this process (one replica only), or in the supervisor
    of ``serve --workers N`` (``supervisor``: its socket). With it: shared counters and a pub/sub bus on
    Redis (start-up fails fast when Redis does not answer)."""
    counters, bus = await open_counters(redis_url, prefix, supervisor=supervisor)
    limiter = KeyLimiter(counters, spend_source, clock, lease_seconds=lease_seconds, metrics=metrics, tracer=tracer)
    return limiter, bus


async def close_limits(limiter: Limiter, bus: InvalidationBus) -> None:
    try:
        await bus.close()
    finally:
        await limiter.close()
