"""``ReplayStore`` on Redis: one string per tool-call id (``SET ... EX``), read back with one ``MGET``.

An unreachable Redis raises ``Overloaded``; an unreadable stored value counts as missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Self

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from opentoken.core.chat import ReplayState
from opentoken.core.errors import Overloaded
from opentoken.stores.redis.client import redis_client
from opentoken.stores.redis.counters import DEFAULT_PREFIX

log = logging.getLogger(__name__)


class _Stored(msgspec.Struct, frozen=True):
    provider: str
    data: str


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Stored).decode


class RedisReplayStore:
    """Provider replay state keyed by tool-call id, expiring after ``ttl_seconds``. Owns ``client``."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = f"{prefix}:replay:"

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> Self:
        return cls(redis_client(url), prefix)

    async def put(self, items: Mapping[str, ReplayState], ttl_seconds: int) -> None:
        if not items:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, state in items.items():
                    if ttl_seconds <= 0:  # expires at once: whatever was stored is gone
                        pipe.delete(self._prefix + key)
                        continue
                    value = _encode(_Stored(provider=state.provider, data=state.data))
                    pipe.set(self._prefix + key, value, ex=ttl_seconds)
                await pipe.execute()
        except RedisError as e:
            raise Overloaded("replay store unavailable") from e

    async def get_many(self, keys: Sequence[str]) -> dict[str, ReplayState]:
        if not keys:
            return {}
        try:
            values = await self._client.mget([self._prefix + key for key in keys])
        except RedisError as e:
            raise Overloaded("replay store unavailable") from e
        found: dict[str, ReplayState] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None:
                continue
            try:
                stored = _decode(value)
            except msgspec.DecodeError:
                log.warning("unreadable replay state for %s ignored", key)
                continue
            found[key] = ReplayState(provider=stored.provider, data=stored.data)
        return found

    async def close(self) -> None:
        await self._client.aclose()
