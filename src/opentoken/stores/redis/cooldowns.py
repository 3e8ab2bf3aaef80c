"""Deployment cooldowns shared by every gateway process on one Redis (see ``stores.counters.Cooldowns``).

Redis trouble never fails a request: the breaker then reports every deployment healthy and logs a warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from opentoken.stores.counters import HEALTHY, Health
from opentoken.stores.redis.client import redis_client

log = logging.getLogger(__name__)


# KEYS[1] failure counter, KEYS[2] cooldown flag; ARGV threshold, counter ttl ms, cooldown ms
_FAIL = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


class RedisCooldowns:
    def __init__(self, client: Redis, failures: int, seconds: float, prefix: str = "opentoken:deployment:") -> None:
        self._redis = client
        self._threshold = max(1, failures)
        self._ms = max(1, int(seconds * 1000))
        self._prefix = prefix
        self._fail = client.register_script(_FAIL)
        self._tasks: set[asyncio.Task[None]] = set()
        self._dirty: set[str] = set()  # deployments seen failing: a success must reset their shared count

    @classmethod
    def from_url(cls, url: str, failures: int, seconds: float, prefix: str = "opentoken:deployment:") -> RedisCooldowns:
        return cls(redis_client(url, max_connections=16), failures, seconds, prefix)

    def _keys(self, name: str) -> tuple[str, str]:
        return f"{self._prefix}{name}:fails", f"{self._prefix}{name}:cooldown"

    async def health(self, names: Sequence[str]) -> Health:
        if not names:
            return HEALTHY
        keys = [k for n in names for k in self._keys(n)]
        try:
            values = await self._redis.mget(keys)
        except (RedisError, OSError) as e:
            log.warning("deployment cooldowns unavailable (Redis): %s", e)
            return HEALTHY
        failing = frozenset(n for i, n in enumerate(names) if values[2 * i])
        cooling = frozenset(n for i, n in enumerate(names) if values[2 * i + 1])
        self._dirty |= failing
        return Health(cooling, failing)

    async def failed(self, name: str) -> bool:
        self._dirty.add(name)
        try:
            tripped = await self._fail(keys=list(self._keys(name)), args=[self._threshold, self._ms, self._ms])
        except (RedisError, OSError) as e:
            log.warning("could not count a failure of deployment %s (Redis): %s", name, e)
            return False
        return bool(tripped)

    def succeeded(self, name: str) -> None:
        if name not in self._dirty:
            return  # no failure seen by this process: spare the round trip
        self._dirty.discard(name)
        task = asyncio.get_running_loop().create_task(self._reset(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reset(self, name: str) -> None:
        try:
            await self._redis.delete(self._keys(name)[0])
        except (RedisError, OSError) as e:
            log.warning("could not reset the failures of deployment %s (Redis): %s", name, e)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()
