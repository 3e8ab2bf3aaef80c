"""The key-change bus within one process (see ``stores.base.InvalidationBus``)."""

from __future__ import annotations

from opentoken.stores.base import KeyChanged


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
