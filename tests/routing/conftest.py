"""Redis for the cooldown tests: 127.0.0.1:6379 (or OPENTOKEN_TEST_REDIS); skipped locally without a server,
a failure under CI=true. Keys live under a random prefix and are deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis as SyncRedis

from support.redis_fixtures import redis_url

__all__ = ["redis_url"]


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
