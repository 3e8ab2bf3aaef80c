"""Key-change notices: in memory, and across Redis connections (as between replicas), with reconnection."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from opentoken.stores.base import ALL_KEYS
from opentoken.stores.memory.bus import MemoryBus
from opentoken.stores.redis.bus import RedisBus
from opentoken.stores.redis.client import redis_client


class Received:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self._event = asyncio.Event()

    def __call__(self, key_id: str) -> None:
        self.ids.append(key_id)
        self._event.set()

    async def wait_for(self, key_id: str, timeout: float = 1.0) -> float:
        """Seconds until ``key_id`` arrived; fails after ``timeout``."""
        started = time.monotonic()
        while key_id not in self.ids:
            self._event.clear()
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise AssertionError(f"{key_id!r} not delivered within {timeout}s (got {self.ids})")
            await asyncio.wait_for(self._event.wait(), remaining)
        return time.monotonic() - started


async def test_memory_bus_delivers_to_every_subscriber() -> None:
    bus = MemoryBus()
    first, second = Received(), Received()
    await bus.start(first)
    await bus.start(second)
    await bus.publish("key_a")
    assert first.ids == ["key_a"] and second.ids == ["key_a"]
    await bus.close()
    await bus.publish("key_b")
    assert first.ids == ["key_a"]


@pytest.fixture
async def channel(redis_prefix: str) -> str:
    return f"{redis_prefix}:key-changes:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def replica_buses(redis_url: str, channel: str) -> AsyncIterator[tuple[RedisBus, RedisBus, str]]:
    """Two buses on one channel, each with its own connections (two replicas); the second's client has
    a unique name so a test can kill its connection."""
    name = f"ottest-bus-{uuid.uuid4().hex[:8]}"
    publisher = RedisBus(redis_client(redis_url), channel)
    subscriber = RedisBus(Redis.from_url(redis_url, decode_responses=True, client_name=name), channel)
    yield publisher, subscriber, name
    await publisher.close()
    await subscriber.close()


async def test_redis_bus_delivers_across_connections_within_a_second(
    replica_buses: tuple[RedisBus, RedisBus, str],
) -> None:
    publisher, subscriber, _ = replica_buses
    got = Received()
    await subscriber.start(got)
    assert got.ids == [ALL_KEYS]  # a fresh subscription starts from empty caches
    for i in range(5):
        await publisher.publish(f"key_{i}")
        assert await got.wait_for(f"key_{i}") < 1.0
    assert got.ids == [ALL_KEYS, "key_0", "key_1", "key_2", "key_3", "key_4"]


async def test_redis_bus_reconnects_and_flushes_everything(
    redis_url: str, replica_buses: tuple[RedisBus, RedisBus, str]
) -> None:
    publisher, subscriber, name = replica_buses
    got = Received()
    await subscriber.start(got)
    admin = Redis.from_url(redis_url, decode_responses=True)
    try:
        victims = [c["id"] for c in await admin.client_list() if c.get("name") == name]
        assert victims, "the subscriber's connection was not found"
        for client_id in victims:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()
    got.ids.clear()
    deadline = time.monotonic() + 3
    while ALL_KEYS not in got.ids:  # resubscribed: notices may have been missed, so drop every key
        assert time.monotonic() < deadline, "the bus did not resubscribe"
        await asyncio.sleep(0.02)
    await publisher.publish("key_after")
    assert await got.wait_for("key_after") < 1.0


async def test_redis_bus_publish_without_server_does_not_raise(channel: str) -> None:
    bus = RedisBus(redis_client("redis://127.0.0.1:1"), channel)  # nothing listens on port 1
    await bus.publish("key_a")  # logged; caches still expire within a second
    await bus.close()


async def test_start_twice_is_an_error(replica_buses: tuple[RedisBus, RedisBus, str]) -> None:
    _, subscriber, _ = replica_buses
    await subscriber.start(Received())
    with pytest.raises(RuntimeError):
        await subscriber.start(Received())


class Proxy:
    """A TCP proxy to Redis that can be taken down (dropping every connection) and brought back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_redis_bus_resubscribes_after_the_server_was_gone(redis_url: str, channel: str) -> None:
    proxy = Proxy(urlsplit(redis_url).port or 6379)
    await proxy.up()
    publisher = RedisBus(redis_client(redis_url), channel)
    subscriber = RedisBus(redis_client(f"redis://127.0.0.1:{proxy.port}"), channel)
    got = Received()
    try:
        await subscriber.start(got)
        await proxy.down()  # longer than redis-py's own reconnect attempts
        await asyncio.sleep(1.5)
        got.ids.clear()
        await proxy.up()
        deadline = time.monotonic() + 5
        while ALL_KEYS not in got.ids:
            assert time.monotonic() < deadline, "the bus did not come back"
            await asyncio.sleep(0.02)
        await publisher.publish("key_back")
        assert await got.wait_for("key_back") < 1.0
    finally:
        await subscriber.close()
        await publisher.close()
        await proxy.down()
