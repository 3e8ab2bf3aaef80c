"""Redis fixtures (shared with the other Redis suite); test keys are deleted at the end of the session."""

from __future__ import annotations

import pytest

from support.redis_fixtures import _delete_test_keys, redis_prefix, redis_url

__all__ = ["_delete_test_keys", "redis_prefix", "redis_url"]


@pytest.fixture(scope="session", autouse=True)
def _cleanup(_delete_test_keys: None) -> None:
    """Depend on the session cleanup so every key written under the prefix goes at the end."""
