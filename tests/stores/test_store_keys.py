"""KeyStore behaviour, identical on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opentoken.auth.keys import generate_key, new_api_key
from opentoken.stores.base import DuplicateKey, KeyChanges
from opentoken.stores.factory import Stores

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def full_key(name: str = "full", created_at: datetime = T0):
    return new_api_key(
        name,
        owner="team-a",
        models=("google/*", "anthropic/claude-sonnet-4-5"),
        budget_usd=Decimal("12.345678901"),
        budget_period="monthly",
        rpm=60,
        tpm=5_000_000_000,
        max_concurrent=4,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        metadata={"team": "a", "env": "prod"},
        created_at=created_at,
    )


async def test_create_then_get_round_trips_every_field(stores: Stores) -> None:
    key, secret = full_key()
    await stores.keys.create(key)
    assert await stores.keys.get(key.id) == key
    by_hash = await stores.keys.get_by_hash(key.key_hash)
    assert by_hash == key
    assert by_hash is not None
    assert by_hash.budget_usd == Decimal("12.345678901")
    assert by_hash.created_at == T0 and by_hash.created_at.tzinfo is not None
    assert by_hash.models == ("google/*", "anthropic/claude-sonnet-4-5")
    assert secret.startswith(by_hash.prefix)


async def test_minimal_key_round_trips(stores: Stores) -> None:
    key, _ = new_api_key("bare", created_at=T0)
    await stores.keys.create(key)
    got = await stores.keys.get(key.id)
    assert got == key
    assert got is not None and got.models == () and dict(got.metadata) == {} and got.budget_usd is None


async def test_missing_keys_are_none(stores: Stores) -> None:
    assert await stores.keys.get("key_missing") is None
    assert await stores.keys.get_by_hash("0" * 64) is None
    assert await stores.keys.update("key_missing", KeyChanges(name="x")) is None
    assert await stores.keys.revoke("key_missing", T0) is None
    assert await stores.keys.replace_hash("key_missing", "1" * 64, "ot-xxxxxxx") is None


async def test_duplicate_id_or_hash_is_refused(stores: Stores) -> None:
    key, _ = new_api_key("one", created_at=T0)
    await stores.keys.create(key)
    other, _ = new_api_key("two", created_at=T0)
    with pytest.raises(DuplicateKey):
        await stores.keys.create(type(other)(**{**_fields(other), "id": key.id}))
    with pytest.raises(DuplicateKey):
        await stores.keys.create(type(other)(**{**_fields(other), "key_hash": key.key_hash}))
    assert [k.id for k in await stores.keys.list()] == [key.id]


def _fields(key):
    return {name: getattr(key, name) for name in key.__slots__}


async def test_list_is_ordered_by_creation(stores: Stores) -> None:
    created = []
    for i in (2, 0, 1):
        key, _ = new_api_key(f"k{i}", created_at=T0 + timedelta(seconds=i))
        await stores.keys.create(key)
        created.append(key)
    assert [k.name for k in await stores.keys.list()] == ["k0", "k1", "k2"]


async def test_update_sets_and_clears_fields(stores: Stores) -> None:
    key, _ = full_key()
    await stores.keys.create(key)
    changes = KeyChanges(
        name="renamed",
        models=("anthropic/*",),
        rpm=10,
        budget_usd=Decimal("0.5"),
        metadata={"k": "v"},
        clear=("owner", "tpm", "expires_at", "max_concurrent"),
    )
    updated = await stores.keys.update(key.id, changes)
    assert updated is not None
    assert (updated.name, updated.models, updated.rpm, updated.budget_usd) == (
        "renamed",
        ("anthropic/*",),
        10,
        Decimal("0.5"),
    )
    assert (updated.owner, updated.tpm, updated.expires_at, updated.max_concurrent) == (None, None, None, None)
    assert dict(updated.metadata) == {"k": "v"}
    assert (updated.budget_period, updated.key_hash, updated.created_at) == ("monthly", key.key_hash, T0)
    assert await stores.keys.get(key.id) == updated
    assert await stores.keys.get_by_hash(key.key_hash) == updated


async def test_update_clears_models_and_budget(stores: Stores) -> None:
    key, _ = full_key()
    await stores.keys.create(key)
    updated = await stores.keys.update(key.id, KeyChanges(clear=("models", "budget_usd", "budget_period")))
    assert updated is not None
    assert (updated.models, updated.budget_usd, updated.budget_period) == ((), None, "none")
    assert updated.allows("openai/anything")
    assert await stores.keys.get(key.id) == updated


async def test_update_refuses_unknown_clear(stores: Stores) -> None:
    key, _ = full_key()
    await stores.keys.create(key)
    with pytest.raises(ValueError, match="cannot clear name"):
        await stores.keys.update(key.id, KeyChanges(clear=("name",)))
    assert await stores.keys.get(key.id) == key


async def test_revoke_keeps_the_first_time(stores: Stores) -> None:
    key, _ = full_key()
    await stores.keys.create(key)
    first = await stores.keys.revoke(key.id, T0 + timedelta(hours=1))
    assert first is not None and first.revoked_at == T0 + timedelta(hours=1)
    again = await stores.keys.revoke(key.id, T0 + timedelta(hours=2))
    assert again is not None and again.revoked_at == T0 + timedelta(hours=1)
    by_hash = await stores.keys.get_by_hash(key.key_hash)
    assert by_hash is not None and by_hash.revoked_at == T0 + timedelta(hours=1)


async def test_replace_hash_rotates_the_secret(stores: Stores) -> None:
    key, _ = full_key()
    await stores.keys.create(key)
    _, prefix, key_hash = generate_key()
    rotated = await stores.keys.replace_hash(key.id, key_hash, prefix)
    assert rotated is not None and (rotated.key_hash, rotated.prefix) == (key_hash, prefix)
    assert await stores.keys.get_by_hash(key.key_hash) is None
    assert await stores.keys.get_by_hash(key_hash) == rotated
    assert rotated.name == key.name and rotated.budget_usd == key.budget_usd


async def test_replace_hash_refuses_another_keys_hash(stores: Stores) -> None:
    one, _ = new_api_key("one", created_at=T0)
    two, _ = new_api_key("two", created_at=T0)
    await stores.keys.create(one)
    await stores.keys.create(two)
    with pytest.raises(DuplicateKey):
        await stores.keys.replace_hash(one.id, two.key_hash, two.prefix)
    assert await stores.keys.get_by_hash(one.key_hash) == one
