"""Redis for the cooldown tests: 127.0.0.1:6379 (or OPENTOKEN_TEST_REDIS); skipped locally without a server,
a failure under CI=true. Keys live under a random prefix and are deleted afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis as SyncRedis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("OPENTOKEN_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_url() -> str:
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
def cooldown_prefix(redis_url: str) -> Iterator[str]:
    """A fresh key prefix; its keys are deleted afterwards (a sync fixture, so async fixtures can ask for it)."""
    prefix = f"ottest-cooldown-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = SyncRedis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
