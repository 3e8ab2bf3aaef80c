"""KeyStore on SQL (SQLite and PostgreSQL through the same Core statements)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from opentoken.stores.base import ApiKey, DuplicateKey, KeyChanges, KeyQuery, search_text
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import api_keys


def key_to_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "key_hash": key.key_hash,
        "created_at": key.created_at,
        "owner": key.owner,
        "models": list(key.models),
        "budget_usd": key.budget_usd,
        "budget_period": key.budget_period,
        "rpm": key.rpm,
        "tpm": key.tpm,
        "max_concurrent": key.max_concurrent,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "metadata": dict(key.metadata),
        "search": search_text(key),
    }


def row_to_key(row: Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=m["id"],
        name=m["name"],
        prefix=m["prefix"],
        key_hash=m["key_hash"],
        created_at=m["created_at"],
        owner=m["owner"],
        models=tuple(m["models"]),
        budget_usd=m["budget_usd"],
        budget_period=m["budget_period"],
        rpm=m["rpm"],
        tpm=m["tpm"],
        max_concurrent=m["max_concurrent"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        metadata=dict(m["metadata"]),
    )


async def _fetch(conn: AsyncConnection, key_id: str, *, lock: bool = False) -> ApiKey | None:
    stmt = select(api_keys).where(api_keys.c.id == key_id)
    if lock:
        stmt = stmt.with_for_update()  # PostgreSQL row lock; SQLite already holds the write lock
    row = (await conn.execute(stmt)).first()
    return None if row is None else row_to_key(row)


class SqlKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, key: ApiKey) -> None:
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(insert(api_keys).values(**key_to_row(key)))
        except IntegrityError as e:
            raise DuplicateKey(f"a key with id {key.id!r} or the same secret already exists") from e

    async def get(self, key_id: str) -> ApiKey | None:
        async with read_connection(self._engine) as conn:
            return await _fetch(conn, key_id)

    async def get_many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        if not key_ids:
            return {}
        async with read_connection(self._engine) as conn:
            rows = await conn.execute(select(api_keys).where(api_keys.c.id.in_(list(key_ids))))
            return {key.id: key for key in map(row_to_key, rows)}

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        async with read_connection(self._engine) as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))).first()
        return None if row is None else row_to_key(row)

    async def search(self, query: KeyQuery) -> list[ApiKey]:
        c = api_keys.c
        conditions: list[ColumnElement[bool]] = []
        if query.text:  # one LIKE per key over the (created_at, id, search) index: no table reads
            conditions.append(c.search.contains(query.text.casefold(), autoescape=True))
        if query.after is not None:
            at, key_id = query.after
            conditions.append(and_(c.created_at <= at, or_(c.created_at < at, c.id < key_id)))
        order = (c.created_at.desc(), c.id.desc())
        # the page's ids from the (created_at, id, search) index alone, then those rows
        page = select(c.id).where(*conditions).order_by(*order).limit(query.limit).scalar_subquery()
        stmt = select(api_keys).where(c.id.in_(page)).order_by(*order)
        async with read_connection(self._engine) as conn:
            return [row_to_key(row) for row in await conn.execute(stmt)]

    async def count(self) -> int:
        async with read_connection(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(api_keys))).scalar_one())

    async def list(self) -> list[ApiKey]:
        async with read_connection(self._engine) as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))
            return [row_to_key(row) for row in rows]

    async def update(self, key_id: str, changes: KeyChanges) -> ApiKey | None:
        async with write_transaction(self._engine) as conn:
            key = await _fetch(conn, key_id, lock=True)
            if key is None:
                return None
            updated = changes.apply(key)
            values = key_to_row(updated)
            del values["id"]
            await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
            return updated

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            return await _fetch(conn, key_id)

    async def replace_hash(self, key_id: str, key_hash: str, prefix: str) -> ApiKey | None:
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(
                    update(api_keys).where(api_keys.c.id == key_id).values(key_hash=key_hash, prefix=prefix)
                )
                return await _fetch(conn, key_id)
        except IntegrityError as e:
            raise DuplicateKey("another key has the same secret") from e
