"""Redis for the limits and Redis-store suites: 127.0.0.1:6379 (or OPENTOKEN_TEST_REDIS), a random key prefix
per run, every key under it deleted at the end. Without a server the Redis cases skip locally but fail when
CI=true (they must run in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("OPENTOKEN_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"ottest-{uuid.uuid4().hex[:12]}"


def require_redis() -> str:
    """The test Redis URL once the server answers; skip locally (fail under CI=true) when it does not."""
    client = SyncRedis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except (RedisError, OSError) as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Redis at {REDIS_URL} unavailable: {e} (CI is set: Redis tests must run)")
        pytest.skip(f"Redis at {REDIS_URL} unavailable: {e}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    """The test Redis URL (a synchronous PING, so async fixtures can use it lazily)."""
    return require_redis()


@pytest.fixture(scope="session")
async def _delete_test_keys(redis_prefix: str) -> AsyncIterator[None]:
    yield
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    except (RedisError, OSError):
        pass  # no server: nothing was written
    finally:
        await client.aclose()
