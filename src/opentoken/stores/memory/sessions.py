"""Console sessions in a dict (one process; see ``stores.base.SessionStore``)."""

from __future__ import annotations

from datetime import datetime

from opentoken.stores.base import ConsoleSession
from opentoken.stores.memory.utc import times_in_utc


class MemorySessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, ConsoleSession] = {}

    async def create(self, session: ConsoleSession) -> None:
        self._sessions[session.id_hash] = times_in_utc(session)

    async def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        session = self._sessions.get(id_hash)
        return session if session is not None and session.expires_at > now else None

    async def delete(self, id_hash: str) -> None:
        self._sessions.pop(id_hash, None)

    async def delete_for_key(self, key_id: str) -> None:
        for id_hash in [h for h, s in self._sessions.items() if s.key_id == key_id]:
            del self._sessions[id_hash]

    async def purge(self, now: datetime) -> int:
        expired = [h for h, s in self._sessions.items() if s.expires_at <= now]
        for id_hash in expired:
            del self._sessions[id_hash]
        return len(expired)
