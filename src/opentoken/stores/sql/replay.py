"""ReplayStore on SQL: one row per (API key id, tool-call id) with an expiry time; expired rows are swept now
and then. One table serves every replica."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from opentoken.core.chat import ReplayState
from opentoken.stores.sql.dialect import upsert_insert
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import replay_state


class SqlReplayStore:
    def __init__(self, engine: AsyncEngine, sweep_every_seconds: float = 60.0) -> None:
        self._engine = engine
        self._sweep_every = sweep_every_seconds
        self._next_sweep = 0.0

    async def put(self, key_id: str, items: Mapping[str, ReplayState], ttl_seconds: int) -> None:
        if not items:
            return
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_seconds)
        rows = [
            {"key_id": key_id, "key": key, "provider": state.provider, "data": state.data, "expires_at": expires}
            for key, state in items.items()
        ]
        stmt = upsert_insert(self._engine.dialect.name, replay_state)
        stmt = stmt.on_conflict_do_update(
            index_elements=[replay_state.c.key_id, replay_state.c.key],
            set_={
                "provider": stmt.excluded.provider,
                "data": stmt.excluded.data,
                "expires_at": stmt.excluded.expires_at,
            },
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(stmt, rows)
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + self._sweep_every
                await conn.execute(delete(replay_state).where(replay_state.c.expires_at <= now))

    async def get_many(self, key_id: str, keys: Sequence[str]) -> dict[str, ReplayState]:
        if not keys:
            return {}
        stmt = select(replay_state).where(
            replay_state.c.key_id == key_id,
            replay_state.c.key.in_(list(keys)),
            replay_state.c.expires_at > datetime.now(UTC),
        )
        async with read_connection(self._engine) as conn:
            rows = await conn.execute(stmt)
            return {row.key: ReplayState(provider=row.provider, data=row.data) for row in rows}
