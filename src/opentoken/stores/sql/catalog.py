"""CatalogStore on SQL: one row per operator entry (its ModelSpec as JSON) and one row per price."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Row, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from opentoken.core.money import Prices
from opentoken.stores.catalog import CatalogData, CatalogEntry, DuplicatePrice, ModelSpec, PriceRecord, SpecChange
from opentoken.stores.sql.engine import read_connection, write_transaction
from opentoken.stores.sql.schema import catalog_models, catalog_prices

log = logging.getLogger(__name__)
_DECODER = msgspec.json.Decoder(ModelSpec)


def _entry(row: Row[Any]) -> CatalogEntry | None:
    m = row._mapping
    try:
        spec = _DECODER.decode(m["spec"])
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        log.error("catalog entry %s in the database cannot be read and is ignored: %s", m["model_id"], e)
        return None
    return CatalogEntry(m["model_id"], spec, m["updated_at"])


def _plain(amount: Decimal) -> Decimal:
    """The amount without the column's trailing zeros (``1.000000000`` -> ``1``), as it was stored."""
    return Decimal(format(amount.normalize(), "f"))


def _price(row: Row[Any]) -> PriceRecord:
    m = row._mapping
    prices = Prices(
        input=_plain(m["input"]),
        output=_plain(m["output"]),
        cache_read=_plain(m["cache_read"]),
        cache_write=_plain(m["cache_write"]),
    )
    return PriceRecord(m["model_id"], m["effective_from"], prices, m["created_at"])


async def _locked(conn: AsyncConnection, model_id: str) -> tuple[bool, ModelSpec | None]:
    """Whether the row exists (locked until the transaction ends) and its spec (None if unreadable)."""
    stmt = select(catalog_models).where(catalog_models.c.model_id == model_id).with_for_update()
    row = (await conn.execute(stmt)).first()
    entry = None if row is None else _entry(row)
    return row is not None, None if entry is None else entry.spec


class SqlCatalogStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> CatalogData:
        async with read_connection(self._engine) as conn, conn.begin():
            entries = await conn.execute(select(catalog_models).order_by(catalog_models.c.model_id))
            prices = await conn.execute(
                select(catalog_prices).order_by(catalog_prices.c.model_id, catalog_prices.c.effective_from)
            )
            found = tuple(e for e in map(_entry, entries) if e is not None)
            return CatalogData(found, tuple(_price(r) for r in prices))

    async def get_entry(self, model_id: str) -> CatalogEntry | None:
        async with read_connection(self._engine) as conn:
            row = (await conn.execute(select(catalog_models).where(catalog_models.c.model_id == model_id))).first()
            return None if row is None else _entry(row)

    async def update_entry(self, model_id: str, change: SpecChange, at: datetime) -> CatalogEntry:
        try:
            return await self._update(model_id, change, at)
        except IntegrityError:
            # another writer inserted the first entry for this id meanwhile: the row exists now, lock it
            return await self._update(model_id, change, at)

    async def _update(self, model_id: str, change: SpecChange, at: datetime) -> CatalogEntry:
        async with write_transaction(self._engine) as conn:
            exists, current = await _locked(conn, model_id)
            spec = change(current)
            values = {"spec": msgspec.json.encode(spec).decode(), "updated_at": at}
            if not exists:  # a concurrent first insert makes this fail (IntegrityError): update_entry retries
                await conn.execute(insert(catalog_models).values(model_id=model_id, **values))
            else:
                await conn.execute(update(catalog_models).where(catalog_models.c.model_id == model_id).values(**values))
        return CatalogEntry(model_id, spec, at)

    async def prices(self, model_id: str) -> list[PriceRecord]:
        stmt = (
            select(catalog_prices)
            .where(catalog_prices.c.model_id == model_id)
            .order_by(catalog_prices.c.effective_from)
        )
        async with read_connection(self._engine) as conn:
            return [_price(r) for r in await conn.execute(stmt)]

    async def add_price(self, record: PriceRecord) -> None:
        p = record.prices
        values = {
            "model_id": record.model_id,
            "effective_from": record.effective_from,
            "input": p.input,
            "output": p.output,
            "cache_read": p.cache_read,
            "cache_write": p.cache_write,
            "created_at": record.created_at,
        }
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(insert(catalog_prices).values(**values))
        except IntegrityError as e:
            raise DuplicatePrice(
                f"{record.model_id} already has a price taking effect at {record.effective_from.isoformat()}",
                param="effective_from",
            ) from e

    async def cancel_price(self, model_id: str, effective_from: datetime, now: datetime) -> bool:
        stmt = delete(catalog_prices).where(
            and_(
                catalog_prices.c.model_id == model_id,
                catalog_prices.c.effective_from == effective_from,
                catalog_prices.c.effective_from > now,
            )
        )
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(stmt)
            return bool(result.rowcount)
