"""Console sessions and the key list's search, identical on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opentoken.auth.keys import new_api_key
from opentoken.stores.base import ConsoleSession, KeyQuery
from opentoken.stores.factory import Stores

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def session(n: int, key_id: str | None = "key_a", minutes: int = 30) -> ConsoleSession:
    return ConsoleSession(
        id_hash=f"{n:064x}",
        role="key" if key_id else "admin",
        key_id=key_id,
        csrf=f"csrf{n}",
        created_at=T0,
        expires_at=T0 + timedelta(minutes=minutes),
    )


async def test_sessions_expire_and_are_deleted(stores: Stores) -> None:
    s1, s2, admin = session(1), session(2, minutes=5), session(3, key_id=None)
    for s in (s1, s2, admin):
        await stores.sessions.create(s)
    assert await stores.sessions.get(s1.id_hash, T0) == s1
    assert await stores.sessions.get(admin.id_hash, T0) == admin
    assert await stores.sessions.get(s2.id_hash, T0 + timedelta(minutes=6)) is None  # expired
    assert await stores.sessions.get("f" * 64, T0) is None
    assert await stores.sessions.purge(T0 + timedelta(minutes=6)) == 1
    await stores.sessions.delete(s1.id_hash)
    assert await stores.sessions.get(s1.id_hash, T0) is None
    await stores.sessions.create(session(4))
    await stores.sessions.delete_for_key("key_a")
    assert await stores.sessions.get(session(4).id_hash, T0) is None
    assert await stores.sessions.get(admin.id_hash, T0) == admin


async def test_key_search_pages_newest_first_and_matches_text(stores: Stores) -> None:
    keys = []
    for i in range(23):
        key, _ = new_api_key(
            f"Team {'Red' if i % 3 == 0 else 'Blue'} {i}",
            owner="ops_50%" if i == 7 else None,
            created_at=T0 + timedelta(seconds=i // 2),  # pairs share a created_at: the id breaks the tie
        )
        keys.append(key)
        await stores.keys.create(key)
    assert await stores.keys.count() == 23
    expected = sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)
    seen = []
    after = None
    while page := await stores.keys.search(KeyQuery(limit=5, after=after)):
        seen += page
        after = (page[-1].created_at, page[-1].id)
    assert seen == expected
    red = await stores.keys.search(KeyQuery(text="red"))
    assert {k.name for k in red} == {k.name for k in keys if "Red" in k.name}
    assert [k.id for k in await stores.keys.search(KeyQuery(text=keys[4].id))] == [keys[4].id]
    assert [k.name for k in await stores.keys.search(KeyQuery(text="50%"))] == [keys[7].name]  # % is literal
    assert await stores.keys.search(KeyQuery(text="_%")) == []


async def test_get_many_returns_the_keys_that_exist(stores: Stores) -> None:
    a, _ = new_api_key("a", created_at=T0)
    b, _ = new_api_key("b", created_at=T0)
    await stores.keys.create(a)
    await stores.keys.create(b)
    assert await stores.keys.get_many([a.id, "key_missing", b.id]) == {a.id: a, b.id: b}
    assert await stores.keys.get_many([]) == {}
