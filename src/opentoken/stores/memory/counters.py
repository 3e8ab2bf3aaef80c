"""Counters in one process's memory. Every method runs without awaiting, so each is atomic under asyncio.

For a single gateway process only; several replicas share counts through ``stores.redis.counters``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from opentoken.stores.counters import WINDOW_MS, Ask, Outcome


@dataclass(slots=True)
class _Window:
    """Sliding-window entries in admission order: admission id -> (time ms, amount)."""

    entries: dict[str, tuple[int, int]] = field(default_factory=dict)
    total: int = 0

    def prune(self, now_ms: int) -> None:
        cut = now_ms - WINDOW_MS
        while self.entries:
            aid, (at, amount) = next(iter(self.entries.items()))
            if at > cut:
                break
            del self.entries[aid]
            self.total -= amount

    def reset_ms(self, now_ms: int) -> int:
        """Time until the newest entry leaves the window (the window is empty again)."""
        if not self.entries:
            return 0
        newest = next(reversed(self.entries.values()))[0]
        return newest + WINDOW_MS - now_ms

    def wait_ms(self, amount: int, limit: int, now_ms: int) -> int:
        """Time until ``amount`` more fits under ``limit`` (-1: never)."""
        if amount > limit:
            return -1
        freed = 0
        for at, held in self.entries.values():
            freed += held
            if self.total - freed + amount <= limit:
                return at + WINDOW_MS - now_ms
        return 0

    def add(self, aid: str, now_ms: int, amount: int) -> None:
        self.entries[aid] = (now_ms, amount)
        self.total += amount

    def remove(self, aid: str) -> None:
        entry = self.entries.pop(aid, None)
        if entry is not None:
            self.total -= entry[1]

    def resize(self, aid: str, amount: int) -> None:
        entry = self.entries.get(aid)
        if entry is not None:
            self.entries[aid] = (entry[0], amount)
            self.total += amount - entry[1]


@dataclass(slots=True)
class _Budget:
    spent: int
    reserved: int = 0
    held: dict[str, int] = field(default_factory=dict)  # admission id -> reserved nano-dollars

    def free(self, aid: str) -> None:
        self.reserved -= self.held.pop(aid, 0)


@dataclass(slots=True)
class _KeyCounters:
    requests: _Window = field(default_factory=_Window)
    tokens: _Window = field(default_factory=_Window)
    leases: dict[str, int] = field(default_factory=dict)  # admission id -> lease end (ms)
    budgets: dict[str, _Budget] = field(default_factory=dict)  # period tag -> counter
    # (lease end, admission id), earliest first; an entry is stale once its lease ended or was renewed, so
    # pruning costs only the leases that expire (not a scan of every lease per admission)
    expiries: list[tuple[int, str]] = field(default_factory=list)

    def add_lease(self, aid: str, until_ms: int) -> None:
        self.leases[aid] = until_ms
        heapq.heappush(self.expiries, (until_ms, aid))

    def prune_leases(self, now_ms: int) -> None:
        expiries = self.expiries
        while expiries and expiries[0][0] <= now_ms:
            until, aid = heapq.heappop(expiries)
            if self.leases.get(aid) == until:
                self.drop_lease(aid)
        if len(expiries) > 4 * len(self.leases) + 64:  # many stale entries (settled or renewed leases)
            self.expiries = [(until, aid) for aid, until in self.leases.items()]
            heapq.heapify(self.expiries)

    def drop_lease(self, aid: str) -> None:
        self.leases.pop(aid, None)
        for budget in self.budgets.values():
            budget.free(aid)


class MemoryCounters:
    """``CounterStore`` in process memory; also ``ImmediateCounters`` (every operation is a plain call)."""

    def __init__(self) -> None:
        self._keys: dict[str, _KeyCounters] = {}

    def _key(self, key_id: str) -> _KeyCounters:
        counters = self._keys.get(key_id)
        if counters is None:
            counters = self._keys[key_id] = _KeyCounters()
        return counters

    async def acquire(self, ask: Ask) -> Outcome:
        return self.acquire_now(ask)

    def acquire_now(self, ask: Ask) -> Outcome:
        k = self._key(ask.key_id)
        now = ask.now_ms
        k.prune_leases(now)
        k.requests.prune(now)
        k.tokens.prune(now)
        budget = k.budgets.get(ask.period)
        seen = _seen(k, budget, now)
        if ask.budget_nanos is not None:
            if budget is None:
                return Outcome("baseline", **seen)
            if budget.spent + budget.reserved + ask.reserve_nanos > ask.budget_nanos:
                return Outcome("budget", **seen)
        if ask.max_concurrent is not None and len(k.leases) >= ask.max_concurrent:
            return Outcome("concurrency", **seen)
        if ask.rpm is not None and k.requests.total + 1 > ask.rpm:
            return Outcome("requests", wait_ms=k.requests.wait_ms(1, ask.rpm, now), **seen)
        if ask.tpm is not None and k.tokens.total + ask.tokens > ask.tpm:
            return Outcome("tokens", wait_ms=k.tokens.wait_ms(ask.tokens, ask.tpm, now), **seen)
        _take(k, budget, ask)
        return Outcome("granted", **_seen(k, budget, now))

    async def init_budget(self, key_id: str, period: str, spent_nanos: int, ttl_ms: int) -> None:
        k = self._key(key_id)
        if period not in k.budgets:
            # Only the newest period is kept: earlier ones can no longer admit anything.
            k.budgets = {tag: b for tag, b in k.budgets.items() if b.held}
            k.budgets[period] = _Budget(spent=spent_nanos)

    async def settle(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        self.settle_now(ask, cost_nanos, tokens)

    def settle_now(self, ask: Ask, cost_nanos: int, tokens: int) -> None:
        k = self._key(ask.key_id)
        k.drop_lease(ask.admission_id)
        budget = k.budgets.get(ask.period)
        if budget is not None:
            budget.spent += cost_nanos
        k.tokens.resize(ask.admission_id, tokens)

    async def release(self, ask: Ask) -> None:
        self.release_now(ask)

    def release_now(self, ask: Ask) -> None:
        k = self._key(ask.key_id)
        k.drop_lease(ask.admission_id)
        k.requests.remove(ask.admission_id)
        k.tokens.remove(ask.admission_id)

    async def renew(self, asks: list[Ask], now_ms: int, until_ms: int) -> None:
        for ask in asks:
            k = self._key(ask.key_id)
            current = k.leases.get(ask.admission_id)
            if current is not None and until_ms > current:
                k.add_lease(ask.admission_id, until_ms)

    async def close(self) -> None:
        """Nothing to release; the counters stay usable (several limiters may share one store)."""


def _seen(k: _KeyCounters, budget: _Budget | None, now_ms: int) -> dict[str, int]:
    return {
        "requests_used": k.requests.total,
        "requests_reset_ms": k.requests.reset_ms(now_ms),
        "tokens_used": k.tokens.total,
        "tokens_reset_ms": k.tokens.reset_ms(now_ms),
        "concurrent": len(k.leases),
        "spent": budget.spent if budget else 0,
        "reserved": budget.reserved if budget else 0,
    }


def _take(k: _KeyCounters, budget: _Budget | None, ask: Ask) -> None:
    aid = ask.admission_id
    if ask.rpm is not None:
        k.requests.add(aid, ask.now_ms, 1)
    if ask.tpm is not None:
        k.tokens.add(aid, ask.now_ms, ask.tokens)
    if ask.leased:
        k.add_lease(aid, ask.lease_until_ms)
    if budget is not None and ask.budget_nanos is not None:
        budget.reserved += ask.reserve_nanos
        budget.held[aid] = ask.reserve_nanos
