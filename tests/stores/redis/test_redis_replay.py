"""RedisReplayStore: the ReplayStore behaviour of the other backends, plus real expiry in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from opentoken.core.chat import ReplayState
from opentoken.core.errors import Overloaded
from opentoken.stores.redis.replay import RedisReplayStore


@pytest.fixture
async def replay(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisReplayStore]:
    store = RedisReplayStore.from_url(redis_url, redis_prefix)
    yield store
    await store.close()


async def test_put_then_get_many(replay: RedisReplayStore) -> None:
    a = ReplayState(provider="anthropic", data='{"thinking":"x","signature":"s1"}')
    b = ReplayState(provider="google", data='{"thoughtSignature":"abc"}')
    await replay.put({"call_a": a, "call_b": b}, ttl_seconds=600)
    assert await replay.get_many(["call_a", "call_b", "call_missing"]) == {"call_a": a, "call_b": b}
    assert await replay.get_many([]) == {}


async def test_put_replaces_existing(replay: RedisReplayStore) -> None:
    await replay.put({"call_r": ReplayState("anthropic", "old")}, ttl_seconds=600)
    await replay.put({"call_r": ReplayState("anthropic", "new")}, ttl_seconds=600)
    assert await replay.get_many(["call_r"]) == {"call_r": ReplayState("anthropic", "new")}


async def test_ttl_is_set_and_entries_expire(replay: RedisReplayStore, redis_url: str, redis_prefix: str) -> None:
    await replay.put({"call_ttl": ReplayState("google", "x")}, ttl_seconds=600)
    client = Redis.from_url(redis_url)
    try:
        assert 590 < await client.ttl(f"{redis_prefix}:replay:call_ttl") <= 600
    finally:
        await client.aclose()
    await replay.put({"call_short": ReplayState("google", "y")}, ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert await replay.get_many(["call_short", "call_ttl"]) == {"call_ttl": ReplayState("google", "x")}


async def test_zero_ttl_removes_the_entry(replay: RedisReplayStore) -> None:
    await replay.put({"call_z": ReplayState("google", "x")}, ttl_seconds=600)
    await replay.put({"call_z": ReplayState("google", "y")}, ttl_seconds=0)
    assert await replay.get_many(["call_z"]) == {}


async def test_unreadable_value_counts_as_missing(replay: RedisReplayStore, redis_url: str, redis_prefix: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await client.set(f"{redis_prefix}:replay:call_bad", b"not json", ex=60)
    finally:
        await client.aclose()
    assert await replay.get_many(["call_bad"]) == {}


async def test_put_nothing_is_a_no_op(replay: RedisReplayStore) -> None:
    await replay.put({}, ttl_seconds=600)
    assert await replay.get_many(["x"]) == {}


async def test_unreachable_redis_is_overloaded() -> None:
    store = RedisReplayStore.from_url("redis://127.0.0.1:1")
    with pytest.raises(Overloaded):
        await store.get_many(["call_a"])
    with pytest.raises(Overloaded):
        await store.put({"call_a": ReplayState("google", "x")}, ttl_seconds=60)
    await store.close()
