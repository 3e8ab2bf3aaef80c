"""Failed console sign-ins per client: slowed down after a few, refused (429) after many.

In one process's memory (a replica counts its own clients' failures); bounded in size. A success clears
the client's count.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 15 * 60
SLOW_AFTER = 3  # failures before each further attempt is delayed
REFUSE_AFTER = 10  # failures in the window after which attempts are answered 429
MAX_DELAY_SECONDS = 3.0
MAX_CLIENTS = 10_000


@dataclass(frozen=True, slots=True)
class Verdict:
    delay: float  # seconds to wait before checking the secret
    retry_after: float | None  # set: refuse with 429 and this Retry-After


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        now = self._clock()
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        return times

    def check(self, client: str) -> Verdict:
        times = self._recent(client)
        if len(times) >= REFUSE_AFTER:
            return Verdict(0.0, max(1.0, times[0] + WINDOW_SECONDS - self._clock()))
        extra = len(times) - SLOW_AFTER + 1
        return Verdict(min(MAX_DELAY_SECONDS, 0.5 * extra) if extra > 0 else 0.0, None)

    def failed(self, client: str) -> None:
        times = self._recent(client)
        times.append(self._clock())
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
