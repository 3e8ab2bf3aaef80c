"""Authenticator: cached lookups, one store read per expiry however many requests wait, invalidation."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opentoken.auth.authenticate import Authenticator
from opentoken.auth.keys import hash_key, new_api_key
from opentoken.core.errors import AuthenticationFailed
from opentoken.stores.base import ALL_KEYS, ApiKey


class CountingStore:
    """Just ``get_by_hash``; counts reads and can hold them until ``release`` is set."""

    def __init__(self, *keys: ApiKey) -> None:
        self.keys = {k.key_hash: k for k in keys}
        self.reads = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail: Exception | None = None

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        self.reads += 1
        found = self.keys.get(key_hash)  # what the database had when the read began
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return found


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(**changes: object) -> tuple[Authenticator, CountingStore, Clock, ApiKey, str]:
    key, secret = new_api_key("t")
    key = replace(key, **changes)  # type: ignore[arg-type]
    store, clock = CountingStore(key), Clock()
    return Authenticator(store, ttl=1.0, clock=clock), store, clock, key, f"Bearer {secret}"  # type: ignore[arg-type]


async def test_a_known_key_is_read_once_while_cached_and_again_after_the_ttl() -> None:
    auth, store, clock, key, header = setup()
    for _ in range(5):
        assert (await auth.authenticate(header)).id == key.id
    assert store.reads == 1
    clock.now += 1.5
    await auth.authenticate(header)
    assert store.reads == 2


async def test_concurrent_requests_on_an_expired_entry_share_one_read() -> None:
    auth, store, _, key, header = setup()
    store.release.clear()
    waiting = [asyncio.ensure_future(auth.authenticate(header)) for _ in range(50)]
    await asyncio.sleep(0)
    store.release.set()
    assert {k.id for k in await asyncio.gather(*waiting)} == {key.id}
    assert store.reads == 1


async def test_one_waiter_cancelled_does_not_cancel_the_others() -> None:
    auth, store, _, key, header = setup()
    store.release.clear()
    first, second = asyncio.ensure_future(auth.authenticate(header)), asyncio.ensure_future(auth.authenticate(header))
    await asyncio.sleep(0)
    first.cancel()
    store.release.set()
    assert (await second).id == key.id
    assert store.reads == 1


async def test_a_load_in_flight_when_the_key_is_invalidated_is_not_cached() -> None:
    auth, store, _, key, header = setup()
    store.release.clear()
    pending = asyncio.ensure_future(auth.authenticate(header))
    while store.reads == 0:
        await asyncio.sleep(0)
    auth.invalidate(key.id)
    store.keys[key.key_hash] = replace(key, revoked_at=datetime.now(UTC))
    store.release.set()
    assert (await pending).id == key.id  # it began before the revocation: it still saw the key valid
    with pytest.raises(AuthenticationFailed) as e:
        await auth.authenticate(header)
    assert e.value.code == "api_key_revoked"
    assert store.reads == 2


async def test_a_failed_read_reaches_every_waiter_and_is_not_cached() -> None:
    auth, store, _, key, header = setup()
    store.release.clear()
    store.fail = OSError("database gone")
    waiting = [asyncio.ensure_future(auth.authenticate(header)) for _ in range(3)]
    await asyncio.sleep(0)
    store.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    store.fail = None
    assert (await auth.authenticate(header)).id == key.id
    assert store.reads == 2


async def test_unknown_keys_are_cached_negatively() -> None:
    auth, store, _, _, _ = setup()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await auth.authenticate("Bearer ot-not-a-key-at-all")
    assert store.reads == 1


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer    "])
async def test_missing_or_malformed_headers_never_reach_the_store(header: str | None) -> None:
    auth, store, _, _, _ = setup()
    with pytest.raises(AuthenticationFailed):
        await auth.authenticate(header)
    assert store.reads == 0


async def test_expired_key_is_refused() -> None:
    auth, _, _, _, header = setup(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed) as e:
        await auth.authenticate(header)
    assert e.value.code == "api_key_expired"


def test_hash_is_what_the_store_is_asked_for() -> None:
    key, secret = new_api_key("t")
    assert hash_key(secret) == key.key_hash


async def test_the_all_keys_notice_drops_every_cached_key() -> None:
    """What the Redis bus sends after a reconnect, when notices may have been lost."""
    auth, store, _, _, header = setup()
    await auth.authenticate(header)
    auth.invalidate(ALL_KEYS)
    await auth.authenticate(header)
    assert store.reads == 2
