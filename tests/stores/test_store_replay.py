"""ReplayStore behaviour, identical on every backend."""

from __future__ import annotations

from opentoken.core.chat import ReplayState
from opentoken.stores.factory import Stores


async def test_put_then_get_many(stores: Stores) -> None:
    a = ReplayState(provider="anthropic", data='{"thinking":"x","signature":"s1"}')
    b = ReplayState(provider="google", data='{"thoughtSignature":"abc"}')
    await stores.replay.put({"call_a": a, "call_b": b}, ttl_seconds=600)
    assert await stores.replay.get_many(["call_a", "call_b", "call_missing"]) == {"call_a": a, "call_b": b}
    assert await stores.replay.get_many([]) == {}


async def test_put_replaces_existing(stores: Stores) -> None:
    await stores.replay.put({"call_a": ReplayState("anthropic", "old")}, ttl_seconds=600)
    await stores.replay.put({"call_a": ReplayState("anthropic", "new")}, ttl_seconds=600)
    assert await stores.replay.get_many(["call_a"]) == {"call_a": ReplayState("anthropic", "new")}


async def test_expired_entries_are_not_returned(stores: Stores) -> None:
    await stores.replay.put({"call_old": ReplayState("google", "x")}, ttl_seconds=0)
    await stores.replay.put({"call_new": ReplayState("google", "y")}, ttl_seconds=600)
    assert await stores.replay.get_many(["call_old", "call_new"]) == {"call_new": ReplayState("google", "y")}
    await stores.replay.put({"call_old": ReplayState("google", "z")}, ttl_seconds=600)
    assert await stores.replay.get_many(["call_old"]) == {"call_old": ReplayState("google", "z")}


async def test_put_nothing_is_a_no_op(stores: Stores) -> None:
    await stores.replay.put({}, ttl_seconds=600)
    assert await stores.replay.get_many(["x"]) == {}
