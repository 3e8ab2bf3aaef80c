"""The circuit breaker over both backends: memory and Redis (shared between gateway processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from opentoken.stores.counters import Cooldowns
from opentoken.stores.factory import open_cooldowns
from opentoken.stores.memory.cooldowns import MemoryCooldowns
from opentoken.stores.redis.cooldowns import RedisCooldowns


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    made: list[Cooldowns] = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    prefix = request.getfixturevalue("cooldown_prefix") if url else ""

    def factory(failures: int, seconds: float) -> Cooldowns:
        cd: Cooldowns = (
            RedisCooldowns.from_url(url, failures, seconds, prefix=prefix)
            if url
            else MemoryCooldowns(failures, seconds)
        )
        made.append(cd)
        return cd

    yield factory
    for cd in made:
        await cd.close()


async def test_consecutive_failures_start_a_cooldown_that_ends(make) -> None:
    cd = make(3, 0.3)
    assert await cd.failed("a") is False
    assert await cd.failed("a") is False
    health = await cd.health(["a", "b"])
    assert health.failing == {"a"} and not health.cooling
    assert await cd.failed("a") is True
    health = await cd.health(["a", "b"])
    assert health.cooling == {"a"}
    await asyncio.sleep(0.35)
    assert not (await cd.health(["a", "b"])).cooling


async def test_success_resets_the_count(make) -> None:
    cd = make(2, 5.0)
    await cd.failed("a")
    cd.succeeded("a")
    await asyncio.sleep(0.05)  # the Redis reset runs in the background
    assert await cd.failed("a") is False
    assert not (await cd.health(["a"])).cooling


async def test_state_is_shared_between_instances(redis_url: str, cooldown_prefix: str) -> None:
    one = RedisCooldowns.from_url(redis_url, 2, 5.0, prefix=cooldown_prefix)
    two = RedisCooldowns.from_url(redis_url, 2, 5.0, prefix=cooldown_prefix)
    try:
        await one.failed("shared")
        assert await two.failed("shared") is True
        assert (await one.health(["shared"])).cooling == {"shared"}
    finally:
        await one.close()
        await two.close()


async def test_redis_down_reports_healthy() -> None:
    cd = RedisCooldowns.from_url("redis://127.0.0.1:1", 1, 5.0)
    try:
        assert await cd.failed("a") is False
        assert not (await cd.health(["a", "b"])).cooling
    finally:
        await cd.close()


def test_factory_picks_the_backend() -> None:
    assert isinstance(open_cooldowns(None, 3, 30), MemoryCooldowns)
    assert isinstance(open_cooldowns("redis://127.0.0.1:6379", 3, 30), RedisCooldowns)


async def test_memory_failures_far_apart_do_not_add_up() -> None:
    now = [0.0]
    cd = MemoryCooldowns(2, 10.0, clock=lambda: now[0])
    await cd.failed("a")
    now[0] = 11.0
    assert await cd.failed("a") is False
    now[0] = 12.0
    assert await cd.failed("a") is True
