"""``CounterStore`` kept by the supervisor process, for the workers of one ``opentoken serve --workers N``.

Every operation is one round trip to the supervisor, which runs it on its one ``MemoryCounters``: the same
code, in one place, so rpm, tpm, concurrency and budgets are exact across the workers. A lost supervisor
fails closed (``Overloaded``) like an unreachable Redis.
"""

from __future__ import annotations

from opentoken.stores.counters import Ask, Outcome
from opentoken.stores.local.link import UNAVAILABLE, SupervisorLink
from opentoken.stores.local.wire import Acquire, InitBudget, Release, Renew, Settle


class LocalCounters:
    """``CounterStore`` over a ``SupervisorLink``; owns the link (``close`` closes it)."""

    def __init__(self, link: SupervisorLink) -> None:
        self._link = link

    async def acquire(self, ask: Ask) -> Outcome:
        link = self._link
        outcome = await link.call(Acquire(link.rid(), ask))
        if outcome is None:
            raise RuntimeError(UNAVAILABLE)
        return outcome

    async def init_budget(self, key_id: str, period: str, spent_nanos: int, ttl_ms: int) -> None:
        link = self._link
        await link.call(InitBudget(link.rid(), key_id, period, spent_nanos, ttl_ms))

    async def settle(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        link = self._link
        await link.call(Settle(link.rid(), ask, cost_nanos, tokens))

    async def release(self, ask: Ask) -> None:
        link = self._link
        await link.call(Release(link.rid(), ask))

    async def renew(self, asks: list[Ask], now_ms: int, until_ms: int) -> None:
        if asks:
            link = self._link
            await link.call(Renew(link.rid(), asks, now_ms, until_ms))

    async def close(self) -> None:
        self._link.close()
