"""Console sessions on SQL (shared by every replica on the same database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.base import ConsoleSession
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import console_sessions

_c = console_sessions.c


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, session: ConsoleSession) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                insert(console_sessions).values(
                    id_hash=session.id_hash,
                    role=session.role,
                    key_id=session.key_id,
                    csrf=session.csrf,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    async def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        stmt = select(console_sessions).where(_c.id_hash == id_hash, _c.expires_at > now)
        async with read_connection(self._engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        m = row._mapping
        return ConsoleSession(
            id_hash=m["id_hash"],
            role="admin" if m["role"] == "admin" else "key",
            key_id=m["key_id"],
            csrf=m["csrf"],
            created_at=m["created_at"],
            expires_at=m["expires_at"],
        )

    async def delete(self, id_hash: str) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(delete(console_sessions).where(_c.id_hash == id_hash))

    async def delete_for_key(self, key_id: str) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(delete(console_sessions).where(_c.key_id == key_id))

    async def purge(self, now: datetime) -> int:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(delete(console_sessions).where(_c.expires_at <= now))
        return int(result.rowcount or 0)
