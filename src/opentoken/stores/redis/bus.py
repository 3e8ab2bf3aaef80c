"""``InvalidationBus`` over Redis pub/sub: a key change published by one replica reaches all of them.

Pub/sub is fire-and-forget, so a subscriber that was disconnected may have missed notices. Each time its
subscription is (re)confirmed by Redis (redis-py reconnects and resubscribes by itself; when it gives up,
this bus starts a new subscription with backoff) the callback receives ``ALL_KEYS`` and drops every cached
key. Key caches also expire after one second (see ``limits.invalidation``), so nothing relies on pub/sub
alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Self

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from opentoken.stores.base import ALL_KEYS, KeyChanged
from opentoken.stores.counters import DEFAULT_PREFIX
from opentoken.stores.redis.client import redis_client

log = logging.getLogger(__name__)

_POLL_SECONDS = 1.0  # a read wakes at least this often, so dead connections are noticed by health checks
_HEALTH_CHECK_SECONDS = 5
_MAX_BACKOFF_SECONDS = 1.0
_CONFIRM_POLLS = 5


class RedisBus:
    """``InvalidationBus`` on one Redis channel. Owns ``client`` (``close`` closes it)."""

    def __init__(self, client: Redis, channel: str = f"{DEFAULT_PREFIX}:key-changes") -> None:
        self._client = client
        self._channel = channel
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> Self:
        client = redis_client(url, max_connections=4, health_check_interval=_HEALTH_CHECK_SECONDS)
        return cls(client, f"{prefix}:key-changes")

    async def publish(self, key_id: str) -> None:
        """Publish; if Redis is unreachable the change is logged and reaches replicas by cache expiry."""
        try:
            await self._client.publish(self._channel, key_id)
        except RedisError as e:
            log.warning("key change for %s not published (caches expire within 1 s): %s", key_id, e)

    async def start(self, callback: KeyChanged) -> None:
        """Subscribe (waiting for Redis to confirm) and deliver notices to ``callback`` until ``close``."""
        if self._reader is not None:
            raise RuntimeError("RedisBus.start was already called")
        self._pubsub = await self._subscribe(callback)
        self._reader = asyncio.get_running_loop().create_task(self._read_forever(callback))

    async def _subscribe(self, callback: KeyChanged) -> PubSub:
        pubsub = self._client.pubsub()
        await pubsub.subscribe(self._channel)
        for _ in range(_CONFIRM_POLLS):  # the confirmation precedes any message published after it
            message = await pubsub.get_message(timeout=_POLL_SECONDS)
            if message is not None and message["type"] == "subscribe":
                callback(ALL_KEYS)
                return pubsub
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        raise RedisTimeoutError(f"Redis did not confirm the subscription to {self._channel}")

    async def _read_forever(self, callback: KeyChanged) -> None:
        backoff = 0.05
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe(callback)
                message = await self._pubsub.get_message(timeout=_POLL_SECONDS)
                backoff = 0.05
            except RedisError as e:
                log.warning("key-change subscription lost, retrying in %.2fs: %s", backoff, e)
                await self._drop_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
                continue
            if message is None:
                continue
            if message["type"] == "subscribe":
                callback(ALL_KEYS)  # redis-py reconnected and resubscribed: notices may be lost
            elif message["type"] == "message":
                callback(str(message["data"]))

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        await self._client.aclose()
