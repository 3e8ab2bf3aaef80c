"""ResponseStore and SecretStore in dicts (``memory://``: one process, nothing persisted)."""

from __future__ import annotations

from datetime import UTC, datetime

from opentoken.stores.responses import StoredResponse


class MemoryResponseStore:
    def __init__(self) -> None:
        self._items: dict[tuple[str, str], StoredResponse] = {}

    async def put(self, record: StoredResponse) -> None:
        now = datetime.now(UTC)
        self._items = {k: v for k, v in self._items.items() if v.expires_at > now}
        self._items[(record.key_id, record.id)] = record

    async def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        found = self._items.get((key_id, response_id))
        if found is None or found.expires_at <= datetime.now(UTC):
            return None
        return found

    async def delete(self, key_id: str, response_id: str) -> bool:
        found = await self.get(key_id, response_id)
        self._items.pop((key_id, response_id), None)
        return found is not None


class MemorySecretStore:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def get_or_create(self, name: str, value: str) -> str:
        return self._values.setdefault(name, value)
