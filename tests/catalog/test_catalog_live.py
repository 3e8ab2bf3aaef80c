"""The live catalog: a change in the store reaches the catalog on a bus notice at once, and within the refresh
interval without one; a store that cannot be read leaves the catalog in force."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from opentoken.catalog.live import LiveCatalog
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import ModelNotFound
from opentoken.stores.base import ALL_KEYS, CATALOG_CHANGED, notice_router
from opentoken.stores.catalog import CatalogData, ModelSpec
from opentoken.stores.memory.bus import MemoryBus
from opentoken.stores.memory.catalog import MemoryCatalogStore

HAIKU = "anthropic/claude-haiku-4-5"


def disabled(current: ModelSpec | None) -> ModelSpec:
    return ModelSpec(enabled=False)


async def until_refused(live: LiveCatalog, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            live.catalog.resolve(HAIKU)
        except ModelNotFound:
            return time.monotonic() - started
        await asyncio.sleep(0.005)
    raise AssertionError(f"{HAIKU} still served after {timeout} s")


@pytest.fixture
async def live() -> AsyncIterator[LiveCatalog]:
    running = LiveCatalog(load_catalog(), MemoryCatalogStore(), frozenset({"anthropic", "google"}), 0.5)
    await running.start()
    yield running
    await running.close()


async def test_a_bus_notice_reloads_at_once(live: LiveCatalog) -> None:
    bus = MemoryBus()
    keys: list[str] = []
    await bus.start(notice_router(keys.append, live.changed))
    await live._store.update_entry(HAIKU, disabled, datetime.now(UTC))
    await bus.publish(CATALOG_CHANGED)
    assert await until_refused(live, 0.4) < 0.4  # well inside the 0.5 s refresh: the notice did it
    assert keys == []


async def test_without_a_notice_the_refresh_catches_up_within_a_second(live: LiveCatalog) -> None:
    await live._store.update_entry(HAIKU, disabled, datetime.now(UTC))
    assert await until_refused(live, 1.0) <= 1.0


async def test_nothing_changed_means_no_new_composition(live: LiveCatalog) -> None:
    reloads = live.reloads
    assert await live.refresh() is False and live.reloads == reloads
    await live._store.update_entry(HAIKU, disabled, datetime.now(UTC))
    assert await live.refresh() is True and live.reloads == reloads + 1


class FlakyStore(MemoryCatalogStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def load(self) -> CatalogData:
        if self.down:
            raise OSError("database unreachable")
        return await super().load()


async def test_a_store_that_cannot_be_read_leaves_the_catalog_in_force() -> None:
    store = FlakyStore()
    live = LiveCatalog(load_catalog(), store, None, refresh_seconds=0.05)
    await live.start()
    try:
        store.down = True
        await store.update_entry(HAIKU, disabled, datetime.now(UTC))
        live.changed()
        await asyncio.sleep(0.2)
        assert live.catalog.resolve(HAIKU).id == HAIKU  # the last good catalog keeps answering
        store.down = False
        assert await until_refused(live, 1.0) <= 1.0
    finally:
        await live.close()


def test_the_notice_router_sends_each_notice_where_it_belongs() -> None:
    keys: list[str] = []
    catalog: list[str] = []
    route = notice_router(keys.append, lambda: catalog.append("reload"))
    route("key_123")
    route(CATALOG_CHANGED)
    route(ALL_KEYS)  # after a reconnect: notices may have been lost, both reload
    assert keys == ["key_123", ALL_KEYS] and catalog == ["reload", "reload"]
