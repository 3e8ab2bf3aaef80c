"""Deployment cooldowns in one process's memory (see ``stores.counters.Cooldowns``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from opentoken.stores.counters import Health


class MemoryCooldowns:
    def __init__(self, failures: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = max(1, failures)
        self._seconds = seconds
        self._clock = clock
        self._fails: dict[str, tuple[int, float]] = {}  # name -> (count, time of the last failure)
        self._until: dict[str, float] = {}

    async def health(self, names: Sequence[str]) -> Health:
        now = self._clock()
        cooling = frozenset(n for n in names if self._until.get(n, 0.0) > now)
        failing = frozenset(n for n in names if n in self._fails and now - self._fails[n][1] < self._seconds)
        return Health(cooling, failing)

    async def failed(self, name: str) -> bool:
        now = self._clock()
        count, last = self._fails.get(name, (0, now))
        count = count + 1 if now - last < self._seconds else 1
        if count >= self._threshold:
            self._fails.pop(name, None)
            self._until[name] = now + self._seconds
            return True
        self._fails[name] = (count, now)
        return False

    def succeeded(self, name: str) -> None:
        self._fails.pop(name, None)

    async def close(self) -> None:
        return None
