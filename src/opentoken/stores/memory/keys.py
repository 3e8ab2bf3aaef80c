"""KeyStore in a dict. Every method runs without awaiting, so each is atomic on the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from opentoken.stores.base import ApiKey, DuplicateKey, KeyChanges, KeyQuery, search_text
from opentoken.stores.memory.utc import as_utc, times_in_utc


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._by_hash: dict[str, str] = {}

    async def create(self, key: ApiKey) -> None:
        if key.id in self._keys or key.key_hash in self._by_hash:
            raise DuplicateKey(f"a key with id {key.id!r} or the same secret already exists")
        self._keys[key.id] = times_in_utc(key)
        self._by_hash[key.key_hash] = key.id

    async def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        return {i: self._keys[i] for i in key_ids if i in self._keys}

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        key_id = self._by_hash.get(key_hash)
        return None if key_id is None else self._keys[key_id]

    async def search(self, query: KeyQuery) -> list[ApiKey]:
        text = query.text.casefold()
        found = [
            k
            for k in self._keys.values()
            if (query.after is None or (k.created_at, k.id) < query.after) and (not text or text in search_text(k))
        ]
        found.sort(key=lambda k: (k.created_at, k.id), reverse=True)
        return found[: query.limit]

    async def count(self) -> int:
        return len(self._keys)

    async def list(self) -> list[ApiKey]:
        return sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))

    async def update(self, key_id: str, changes: KeyChanges) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        self._keys[key_id] = updated = times_in_utc(changes.apply(key))
        return updated

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        if key.revoked_at is None:
            self._keys[key_id] = key = replace(key, revoked_at=as_utc(at))
        return key

    async def replace_hash(self, key_id: str, key_hash: str, prefix: str) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        if self._by_hash.get(key_hash, key_id) != key_id:
            raise DuplicateKey("another key has the same secret")
        del self._by_hash[key.key_hash]
        self._keys[key_id] = key = replace(key, key_hash=key_hash, prefix=prefix)
        self._by_hash[key_hash] = key_id
        return key
