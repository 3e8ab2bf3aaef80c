"""Key-change notices, so a revoked key or new limits take effect on every replica within one second.

Whoever changes a key (admin API, CLI) calls ``publish(key_id)`` after the change is committed. Every
process that caches keys calls ``start(callback)`` once; the callback receives the id of each changed key
and must drop that key from its caches (it runs on the event loop and must not block or raise).
``ALL_KEYS`` ("*") means "drop every cached key": a bus sends it after it reconnects, because notices may
have been lost while it was away.

The bus makes changes visible at once; it is not the only guarantee. Key caches must also expire their
entries at most ``CACHE_TTL_SECONDS`` (1 s) after loading them, so a lost notice (Redis down, a publish
that failed) still reaches every replica within one second. The limiter itself caches no key settings:
it reads rpm, tpm, max_concurrent and budget from the ``ApiKey`` passed to every ``admit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

ALL_KEYS = "*"
CACHE_TTL_SECONDS = 1.0

KeyChanged = Callable[[str], None]


class InvalidationBus(Protocol):
    async def publish(self, key_id: str) -> None:
        """Tell every subscriber (in every process on this bus) that ``key_id`` changed."""
        ...

    async def start(self, callback: KeyChanged) -> None:
        """Deliver each notice to ``callback`` from now on, until ``close``."""
        ...

    async def close(self) -> None: ...


class MemoryBus:
    """``InvalidationBus`` within one process: ``publish`` calls every started callback directly."""

    def __init__(self) -> None:
        self._callbacks: list[KeyChanged] = []

    async def publish(self, key_id: str) -> None:
        for callback in list(self._callbacks):
            callback(key_id)

    async def start(self, callback: KeyChanged) -> None:
        self._callbacks.append(callback)

    async def close(self) -> None:
        self._callbacks.clear()
