"""ResponseStore and SecretStore behaviour, identical on every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from opentoken.stores.factory import Stores
from opentoken.stores.responses import StoredResponse


def _record(id: str, key_id: str = "key_a", ttl: float = 3600, body: str = '{"id":"x"}') -> StoredResponse:
    now = datetime.now(UTC)
    return StoredResponse(
        id=id,
        key_id=key_id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        model="google/gemini-3-flash",
        response=body,
        input_items='[{"type":"message"}]',
        history='[{"type":"message"},{"type":"reasoning"}]',
    )


async def test_put_then_get(stores: Stores) -> None:
    record = _record("resp_1")
    await stores.responses.put(record)
    got = await stores.responses.get("key_a", "resp_1")
    assert got is not None
    assert (got.id, got.key_id, got.model, got.response, got.input_items, got.history) == (
        record.id,
        record.key_id,
        record.model,
        record.response,
        record.input_items,
        record.history,
    )
    assert abs((got.created_at - record.created_at).total_seconds()) < 1e-3
    assert got.expires_at.tzinfo is not None
    assert await stores.responses.get("key_a", "resp_missing") is None


async def test_a_key_sees_only_its_own_responses(stores: Stores) -> None:
    await stores.responses.put(_record("resp_shared", key_id="key_a", body='{"owner":"a"}'))
    assert await stores.responses.get("key_b", "resp_shared") is None
    assert await stores.responses.delete("key_b", "resp_shared") is False
    await stores.responses.put(_record("resp_shared", key_id="key_b", body='{"owner":"b"}'))
    a = await stores.responses.get("key_a", "resp_shared")
    b = await stores.responses.get("key_b", "resp_shared")
    assert a is not None and a.response == '{"owner":"a"}'
    assert b is not None and b.response == '{"owner":"b"}'


async def test_put_replaces_and_delete_removes(stores: Stores) -> None:
    await stores.responses.put(_record("resp_2", body='{"v":1}'))
    await stores.responses.put(_record("resp_2", body='{"v":2}'))
    got = await stores.responses.get("key_a", "resp_2")
    assert got is not None and got.response == '{"v":2}'
    assert await stores.responses.delete("key_a", "resp_2") is True
    assert await stores.responses.get("key_a", "resp_2") is None
    assert await stores.responses.delete("key_a", "resp_2") is False


async def test_expired_responses_are_gone(stores: Stores) -> None:
    await stores.responses.put(_record("resp_old", ttl=-1))
    await stores.responses.put(_record("resp_new"))
    assert await stores.responses.get("key_a", "resp_old") is None
    assert await stores.responses.delete("key_a", "resp_old") is False
    assert await stores.responses.get("key_a", "resp_new") is not None


async def test_large_history_round_trips(stores: Stores) -> None:
    history = "[" + ",".join(f'{{"type":"message","n":{n},"text":"{"x" * 200}"}}' for n in range(2000)) + "]"
    record = _record("resp_big")
    record = StoredResponse(**{**{f: getattr(record, f) for f in record.__slots__}, "history": history})
    await stores.responses.put(record)
    got = await stores.responses.get("key_a", "resp_big")
    assert got is not None and got.history == history


async def test_secret_is_created_once_and_shared(stores: Stores) -> None:
    first = await stores.secrets.get_or_create("seal", "value-one")
    assert first == "value-one"
    assert await stores.secrets.get_or_create("seal", "value-two") == "value-one"
    results = await asyncio.gather(*(stores.secrets.get_or_create("race", f"v{n}") for n in range(5)))
    assert len(set(results)) == 1 and results[0] in {f"v{n}" for n in range(5)}
