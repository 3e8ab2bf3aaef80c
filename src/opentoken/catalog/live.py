"""Keep a ``Catalog`` in step with the operator's database entries, on every replica.

A change made through the admin API or the CLI is committed to the ``CatalogStore`` and then announced on
the invalidation bus (``stores.base.CATALOG_CHANGED``); each replica's ``LiveCatalog`` reloads when it hears
it (``changed``), and also every ``refresh_seconds`` (0.5 s by default) whatever it heard, so a lost notice
(Redis down, a publish that failed) still reaches every replica within a second. A reload reads the store
once, composes only if something changed, and swaps the new composition in; requests never wait for it.
If the store cannot be read, the catalog in force stays and the next refresh tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from opentoken.catalog.compose import compose
from opentoken.catalog.lookup import Catalog
from opentoken.stores.catalog import CatalogData, CatalogStore

log = logging.getLogger(__name__)
DEFAULT_REFRESH_SECONDS = 0.5


class LiveCatalog:
    def __init__(
        self,
        catalog: Catalog,
        store: CatalogStore,
        providers: frozenset[str] | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        self.catalog = catalog
        self._store = store
        self._providers = providers
        self._refresh_seconds = refresh_seconds
        composed = catalog.snapshot.composed
        self._base, self._retired = composed.base, composed.retired
        self._data: CatalogData | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.reloads = 0  # compositions swapped in (for tests and logs)

    async def start(self) -> None:
        """Load the database entries once (start-up fails if the store cannot be read), then keep watching."""
        await self.refresh()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def changed(self) -> None:
        """The bus said the catalog changed: reload now (runs on the event loop; never blocks)."""
        self._wake.set()

    async def refresh(self) -> bool:
        """Read the store and swap in a new composition if the entries or prices changed."""
        async with self._lock:
            data = await self._store.load()
            if data == self._data:
                return False
            self.catalog.replace(compose(self._base, data, self._retired, self._providers))
            self._data = data
            self.reloads += 1
            return True

    async def reload(self) -> None:
        """``refresh``, logging instead of raising when the store cannot be read (the catalog in force stays;
        the next refresh tries again)."""
        try:
            await self.refresh()
        except (OSError, SQLAlchemyError) as e:
            log.warning("catalog refresh failed (the catalog in force stays): %s", e)

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh_seconds):
                    await self._wake.wait()
            self._wake.clear()
            await self.reload()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
