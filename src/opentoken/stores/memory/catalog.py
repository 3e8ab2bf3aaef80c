"""CatalogStore in dicts. No method awaits between reading and writing, so each is atomic on the event loop."""

from __future__ import annotations

from datetime import datetime

from opentoken.stores.catalog import CatalogData, CatalogEntry, DuplicatePrice, PriceRecord, SpecChange
from opentoken.stores.memory.utc import as_utc, times_in_utc


class MemoryCatalogStore:
    def __init__(self) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        self._prices: dict[tuple[str, datetime], PriceRecord] = {}

    async def load(self) -> CatalogData:
        entries = tuple(self._entries[k] for k in sorted(self._entries))
        prices = tuple(self._prices[k] for k in sorted(self._prices))
        return CatalogData(entries, prices)

    async def get_entry(self, model_id: str) -> CatalogEntry | None:
        return self._entries.get(model_id)

    async def update_entry(self, model_id: str, change: SpecChange, at: datetime) -> CatalogEntry:
        current = self._entries.get(model_id)
        spec = change(None if current is None else current.spec)
        self._entries[model_id] = entry = CatalogEntry(model_id, spec, as_utc(at))
        return entry

    async def prices(self, model_id: str) -> list[PriceRecord]:
        return [self._prices[k] for k in sorted(self._prices) if k[0] == model_id]

    async def add_price(self, record: PriceRecord) -> None:
        record = times_in_utc(record)
        key = (record.model_id, record.effective_from)
        if key in self._prices:
            raise DuplicatePrice(
                f"{record.model_id} already has a price taking effect at {record.effective_from.isoformat()}",
                param="effective_from",
            )
        self._prices[key] = record

    async def cancel_price(self, model_id: str, effective_from: datetime, now: datetime) -> bool:
        key = (model_id, as_utc(effective_from))
        if key not in self._prices or key[1] <= as_utc(now):
            return False
        del self._prices[key]
        return True
