"""ResponseStore and SecretStore on SQL: one row per (key id, response id); expired rows swept now and then."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.stores.responses import StoredResponse
from opentoken.stores.sql.dialect import upsert_insert
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import gateway_secrets, stored_responses


class SqlResponseStore:
    def __init__(self, engine: AsyncEngine, sweep_every_seconds: float = 300.0) -> None:
        self._engine = engine
        self._sweep_every = sweep_every_seconds
        self._next_sweep = 0.0

    async def put(self, record: StoredResponse) -> None:
        row = {
            "key_id": record.key_id,
            "id": record.id,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
            "model": record.model,
            "response": record.response,
            "input_items": record.input_items,
            "history": record.history,
        }
        stmt = upsert_insert(self._engine.dialect.name, stored_responses).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[stored_responses.c.key_id, stored_responses.c.id],
            set_={name: stmt.excluded[name] for name in row if name not in ("key_id", "id")},
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(stmt)
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + self._sweep_every
                now = datetime.now(UTC)
                await conn.execute(delete(stored_responses).where(stored_responses.c.expires_at <= now))

    async def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        t = stored_responses
        stmt = select(t).where(t.c.key_id == key_id, t.c.id == response_id, t.c.expires_at > datetime.now(UTC))
        async with read_connection(self._engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return StoredResponse(
            id=row.id,
            key_id=row.key_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            model=row.model,
            response=row.response,
            input_items=row.input_items,
            history=row.history,
        )

    async def delete(self, key_id: str, response_id: str) -> bool:
        t = stored_responses
        stmt = delete(t).where(t.c.key_id == key_id, t.c.id == response_id, t.c.expires_at > datetime.now(UTC))
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)


class SqlSecretStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_or_create(self, name: str, value: str) -> str:
        stmt = upsert_insert(self._engine.dialect.name, gateway_secrets).values(
            name=name, value=value, created_at=datetime.now(UTC)
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=[gateway_secrets.c.name])
        async with write_transaction(self._engine) as conn:
            await conn.execute(stmt)
            stored = (
                await conn.execute(select(gateway_secrets.c.value).where(gateway_secrets.c.name == name))
            ).scalar_one()
        return str(stored)
