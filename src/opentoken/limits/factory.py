"""Build the limiter and the key-change bus for one process: in memory, or on Redis for many replicas."""

from __future__ import annotations

import time

from opentoken.limits.base import Limiter
from opentoken.limits.invalidation import InvalidationBus, MemoryBus
from opentoken.limits.limiter import DEFAULT_LEASE_SECONDS, Clock, KeyLimiter, SpendSource
from opentoken.limits.memory import MemoryCounters
from opentoken.stores.redis.bus import RedisBus
from opentoken.stores.redis.client import redis_client
from opentoken.stores.redis.counters import DEFAULT_PREFIX, RedisCounters


async def open_limits(
    redis_url: str | None,
    spend_source: SpendSource,
    *,
    prefix: str = DEFAULT_PREFIX,
    clock: Clock = time.time,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> tuple[Limiter, InvalidationBus]:
    """Without ``redis_url``: counters and bus in this process (one replica only). With it: shared
    counters and a pub/sub bus on Redis, after checking that Redis answers (start-up fails fast)."""
    if redis_url is None:
        return KeyLimiter(MemoryCounters(), spend_source, clock, lease_seconds=lease_seconds), MemoryBus()
    client = redis_client(redis_url)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    limiter = KeyLimiter(RedisCounters(client, prefix), spend_source, clock, lease_seconds=lease_seconds)
    return limiter, RedisBus.from_url(redis_url, prefix)


async def close_limits(limiter: Limiter, bus: InvalidationBus) -> None:
    try:
        await bus.close()
    finally:
        await limiter.close()
