"""ReplayStore behaviour, identical on every backend. State is scoped to the API key that produced it."""

from __future__ import annotations

from opentoken.core.chat import ReplayState
from opentoken.stores.factory import Stores

KEY = "key_a"


async def test_put_then_get_many(stores: Stores) -> None:
    a = ReplayState(provider="anthropic", data='{"thinking":"x","signature":"s1"}')
    b = ReplayState(provider="google", data='{"thoughtSignature":"abc"}')
    await stores.replay.put(KEY, {"call_a": a, "call_b": b}, ttl_seconds=600)
    assert await stores.replay.get_many(KEY, ["call_a", "call_b", "call_missing"]) == {"call_a": a, "call_b": b}
    assert await stores.replay.get_many(KEY, []) == {}


async def test_put_replaces_existing(stores: Stores) -> None:
    await stores.replay.put(KEY, {"call_a": ReplayState("anthropic", "old")}, ttl_seconds=600)
    await stores.replay.put(KEY, {"call_a": ReplayState("anthropic", "new")}, ttl_seconds=600)
    assert await stores.replay.get_many(KEY, ["call_a"]) == {"call_a": ReplayState("anthropic", "new")}


async def test_expired_entries_are_not_returned(stores: Stores) -> None:
    await stores.replay.put(KEY, {"call_old": ReplayState("google", "x")}, ttl_seconds=0)
    await stores.replay.put(KEY, {"call_new": ReplayState("google", "y")}, ttl_seconds=600)
    assert await stores.replay.get_many(KEY, ["call_old", "call_new"]) == {"call_new": ReplayState("google", "y")}
    await stores.replay.put(KEY, {"call_old": ReplayState("google", "z")}, ttl_seconds=600)
    assert await stores.replay.get_many(KEY, ["call_old"]) == {"call_old": ReplayState("google", "z")}


async def test_put_nothing_is_a_no_op(stores: Stores) -> None:
    await stores.replay.put(KEY, {}, ttl_seconds=600)
    assert await stores.replay.get_many(KEY, ["x"]) == {}


async def test_another_key_cannot_read_or_overwrite_the_state(stores: Stores) -> None:
    """Issue 10 item 4: one tenant sending another's tool-call id gets nothing back, and cannot replace it."""
    mine = ReplayState("anthropic", '{"thinking":"secret plan"}')
    await stores.replay.put("key_a", {"call_x": mine}, ttl_seconds=600)
    assert await stores.replay.get_many("key_b", ["call_x"]) == {}
    await stores.replay.put("key_b", {"call_x": ReplayState("anthropic", "forged")}, ttl_seconds=600)
    assert await stores.replay.get_many("key_a", ["call_x"]) == {"call_x": mine}
    assert await stores.replay.get_many("key_b", ["call_x"]) == {"call_x": ReplayState("anthropic", "forged")}
