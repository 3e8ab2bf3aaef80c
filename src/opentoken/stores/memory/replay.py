"""ReplayStore in a dict keyed by (API key id, tool-call id) with expiry times; expired entries are dropped
when they are next touched."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from opentoken.core.chat import ReplayState


class MemoryReplayStore:
    def __init__(self, prune_every_seconds: float = 60.0) -> None:
        self._items: dict[tuple[str, str], tuple[float, ReplayState]] = {}
        self._prune_every = prune_every_seconds
        self._next_prune = time.monotonic() + prune_every_seconds

    async def put(self, key_id: str, items: Mapping[str, ReplayState], ttl_seconds: int) -> None:
        now = time.monotonic()
        if now >= self._next_prune:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._next_prune = now + self._prune_every
        expires = now + ttl_seconds
        for key, state in items.items():
            self._items[key_id, key] = (expires, state)

    async def get_many(self, key_id: str, keys: Sequence[str]) -> dict[str, ReplayState]:
        now = time.monotonic()
        found: dict[str, ReplayState] = {}
        for key in keys:
            entry = self._items.get((key_id, key))
            if entry is not None and entry[0] > now:
                found[key] = entry[1]
        return found
