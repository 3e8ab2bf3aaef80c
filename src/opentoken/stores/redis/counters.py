"""``CounterStore`` on Redis: every replica runs the same Lua scripts on the same keys, so counts are exact
across replicas. Needs Redis >= 6.2 (ZADD GT). A single Redis (or a Sentinel-managed primary): the keys of
one API key share a hash tag, but scripts are not tested on Redis Cluster.

Window and lease times come from the callers' clocks, so replicas are expected to keep NTP time; a skew of
``d`` moves a window edge by ``d`` for entries written by the skewed replica.

An unreachable Redis fails closed: ``acquire``, ``settle``, ``release`` raise ``Overloaded`` (503) and
``renew`` logs and retries on its next round (leases outlive several rounds).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from opentoken.core.errors import Overloaded
from opentoken.stores.counters import DEFAULT_PREFIX, WINDOW_MS, Ask, Outcome, Verdict
from opentoken.stores.redis import scripts
from opentoken.stores.redis.client import redis_client

log = logging.getLogger(__name__)


class RedisCounters:
    """``CounterStore`` on Redis. Owns ``client`` (``close`` closes it)."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(scripts.ACQUIRE)
        self._finish = client.register_script(scripts.FINISH)
        self._init_budget = client.register_script(scripts.INIT_BUDGET)
        self._renew = client.register_script(scripts.RENEW)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> Self:
        return cls(redis_client(url), prefix)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _keys(self, key_id: str, period: str) -> list[str]:
        base = f"{self._prefix}:lim:{{{key_id}}}"
        return [
            f"{base}:req",
            f"{base}:tok",
            f"{base}:tokn",
            f"{base}:toksum",
            f"{base}:lease",
            f"{base}:held:{period}",
            f"{base}:budget:{period}",
        ]

    async def acquire(self, ask: Ask) -> Outcome:
        args: list[str | int] = [
            ask.admission_id,
            ask.now_ms,
            WINDOW_MS,
            _limit(ask.rpm),
            _limit(ask.tpm),
            ask.tokens,
            _limit(ask.max_concurrent),
            ask.lease_until_ms,
            _limit(ask.budget_nanos),
            ask.reserve_nanos,
            ask.budget_ttl_ms,
        ]
        try:
            reply = await self._acquire(keys=self._keys(ask.key_id, ask.period), args=args)
        except RedisError as e:
            raise Overloaded("rate limit store unavailable") from e
        verdict, req_used, req_reset, tok_used, tok_reset, wait, concurrent, spent, reserved = reply
        return Outcome(
            verdict=cast(Verdict, verdict),
            requests_used=int(req_used),
            requests_reset_ms=int(req_reset),
            tokens_used=int(tok_used),
            tokens_reset_ms=int(tok_reset),
            wait_ms=int(wait),
            concurrent=int(concurrent),
            spent=int(spent),
            reserved=int(reserved),
        )

    async def init_budget(self, key_id: str, period: str, spent_nanos: int, ttl_ms: int) -> None:
        budget_key = self._keys(key_id, period)[-1]
        try:
            await self._init_budget(keys=[budget_key], args=[spent_nanos, ttl_ms])
        except RedisError as e:
            raise Overloaded("rate limit store unavailable") from e

    async def settle(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        await self._finish_one(ask, "settle", cost_nanos, tokens)

    async def release(self, ask: Ask) -> None:
        await self._finish_one(ask, "release", 0, 0)

    async def _finish_one(self, ask: Ask, mode: str, cost_nanos: int, tokens: int) -> None:
        args: list[str | int] = [ask.admission_id, mode, cost_nanos, tokens, ask.budget_ttl_ms]
        try:
            await self._finish(keys=self._keys(ask.key_id, ask.period), args=args)
        except RedisError as e:
            raise Overloaded("rate limit store unavailable") from e

    async def renew(self, asks: list[Ask], now_ms: int, until_ms: int) -> None:
        if not asks:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for ask in asks:
                    lease_key = self._keys(ask.key_id, ask.period)[4]
                    await self._renew(keys=[lease_key], args=[ask.admission_id, until_ms, now_ms], client=pipe)
                await pipe.execute()
        except RedisError as e:
            log.warning("could not renew %d concurrency/budget leases: %s", len(asks), e)

    async def close(self) -> None:
        await self._client.aclose()


def _limit(value: int | None) -> int:
    return -1 if value is None else value
