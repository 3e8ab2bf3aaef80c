"""One limiter suite, every counter backend (memory, the supervisor's over a Unix socket, and Redis): rpm, concurrency, tpm, budget, periods,
replicas sharing one backend, and leases of dead replicas."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import QuotaExceeded, RateLimited
from opentoken.core.money import Prices
from opentoken.limits.base import Admission
from opentoken.limits.limiter import KeyLimiter
from opentoken.stores.base import ApiKey
from opentoken.stores.counters import CounterStore
from opentoken.stores.local.counters import LocalCounters
from opentoken.stores.local.link import SupervisorLink
from opentoken.stores.local.server import CounterServer
from opentoken.stores.memory.counters import MemoryCounters
from opentoken.stores.redis.client import redis_client
from opentoken.stores.redis.counters import RedisCounters

START = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)  # a Wednesday
# $3 / $15 per million tokens: 1000 prompt + 1000 output tokens cost at most $0.018.
MODEL = ModelInfo(
    id="anthropic/claude-test",
    provider="anthropic",
    upstream_model="claude-test",
    name="Claude Test",
    created=0,
    context_window=200_000,
    max_output_tokens=64_000,
    default_max_tokens=4096,
    prices=Prices(input=Decimal(3), output=Decimal(15)),
)
WORST = Decimal("0.018")  # worst case of admit(limiter, key) (1000 prompt + 1000 max output)


class FakeClock:
    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, at: datetime) -> None:
        self.now = at.timestamp()


class FakeLedger:
    """The ``spend_source``: a fixed spend per key; records every call."""

    def __init__(self) -> None:
        self.spent: dict[str, Decimal] = {}
        self.calls: list[tuple[str, datetime | None]] = []

    async def spend(self, key_id: str, since: datetime | None) -> Decimal:
        self.calls.append((key_id, since))
        return self.spent.get(key_id, Decimal(0))


def make_key(
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    max_concurrent: int | None = None,
    budget_usd: Decimal | None = None,
    budget_period: str = "none",
) -> ApiKey:
    return ApiKey(
        id=f"key_{uuid.uuid4().hex[:12]}",
        name="test",
        prefix="ot-test",
        key_hash="0" * 64,
        created_at=START,
        rpm=rpm,
        tpm=tpm,
        max_concurrent=max_concurrent,
        budget_usd=budget_usd,
        budget_period=budget_period,  # type: ignore[arg-type]
    )


StoreFactory = Callable[[], CounterStore]
LimiterFactory = Callable[..., KeyLimiter]


@pytest.fixture(params=["memory", "local", "redis"])
async def new_store(
    request: pytest.FixtureRequest, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StoreFactory]:
    """Makes counter stores on one shared backend, as replicas have (memory: one shared instance; local: a
    supervisor's counter server, each store with its own connection, as the workers of ``serve --workers``)."""
    if request.param == "memory":
        shared = MemoryCounters()
        yield lambda: shared
        return
    if request.param == "local":
        server = CounterServer()
        path = str(tmp_path_factory.mktemp("supervisor") / "s.sock")
        await server.start(path)
        links = [await SupervisorLink.connect(path) for _ in range(8)]  # a test makes a few replicas at most
        yield lambda: LocalCounters(links.pop())
        for link in links:
            link.close()
        await server.close()
        return
    url: str = request.getfixturevalue("redis_url")
    yield lambda: RedisCounters(redis_client(url), redis_prefix)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
async def new_limiter(new_store: StoreFactory, clock: FakeClock, ledger: FakeLedger) -> AsyncIterator[LimiterFactory]:
    """Makes limiters (replicas) on the shared backend; the fake clock unless ``clock=`` is given."""
    made: list[KeyLimiter] = []

    def make(clock: Callable[[], float] = clock, lease_seconds: float = 30.0) -> KeyLimiter:
        made.append(KeyLimiter(new_store(), ledger.spend, clock, lease_seconds=lease_seconds))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.close()


@pytest.fixture
def limiter(new_limiter: LimiterFactory) -> KeyLimiter:
    return new_limiter()


async def admit(limiter: KeyLimiter, key: ApiKey, prompt: int = 1000, output: int = 1000) -> Admission:
    return await limiter.admit(key, MODEL, prompt, output)


async def admit_many(
    limiters: KeyLimiter | list[KeyLimiter], key: ApiKey, n: int, prompt: int = 1000, output: int = 1000
) -> tuple[list[Admission], list[Exception]]:
    """``n`` concurrent admits, spread over ``limiters`` in turn."""
    pool = limiters if isinstance(limiters, list) else [limiters]
    results = await asyncio.gather(
        *(admit(pool[i % len(pool)], key, prompt, output) for i in range(n)), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    rejected = [r for r in results if isinstance(r, Exception)]
    assert len(admitted) + len(rejected) == n
    return admitted, rejected


# --- requests per minute -------------------------------------------------------------------------------


async def test_rpm_allows_exactly_the_limit_then_429(limiter: KeyLimiter, clock: FakeClock) -> None:
    key = make_key(rpm=5)
    for i in range(5):
        adm = await admit(limiter, key)
        assert adm.headers["x-ratelimit-limit-requests"] == "5"
        assert adm.headers["x-ratelimit-remaining-requests"] == str(4 - i)
        assert adm.headers["x-ratelimit-reset-requests"] == "1m0s"
        await adm.settle(Decimal("0.001"), 100)
        clock.advance(10)
    # 5 requests at t=0,10,20,30,40; now t=50: the first leaves the window at t=60.
    with pytest.raises(RateLimited) as caught:
        await admit(limiter, key)
    err = caught.value
    assert err.status == 429 and err.code == "rate_limit_exceeded"
    assert err.retry_after == 10.0
    assert err.headers["x-ratelimit-limit-requests"] == "5"
    assert err.headers["x-ratelimit-remaining-requests"] == "0"
    assert err.headers["x-ratelimit-reset-requests"] == "50s"  # the newest (t=40) leaves at t=100
    assert "x-ratelimit-limit-tokens" not in err.headers
    clock.advance(9.999)
    with pytest.raises(RateLimited):
        await admit(limiter, key)
    clock.advance(0.001)
    adm = await admit(limiter, key)
    assert adm.headers["x-ratelimit-remaining-requests"] == "0"


async def test_rpm_exact_under_concurrency(limiter: KeyLimiter) -> None:
    key = make_key(rpm=50)
    admitted, rejected = await admit_many(limiter, key, 120)
    assert len(admitted) == 50
    assert {(type(e), getattr(e, "retry_after", None)) for e in rejected} == {(RateLimited, 60.0)}


async def test_release_gives_back_the_request(limiter: KeyLimiter) -> None:
    key = make_key(rpm=1)
    await (await admit(limiter, key)).release()
    adm = await admit(limiter, key)
    await adm.settle(Decimal(0), 10)  # a settled request stays counted
    with pytest.raises(RateLimited):
        await admit(limiter, key)


# --- concurrency ---------------------------------------------------------------------------------------


async def test_concurrency_is_exact(limiter: KeyLimiter) -> None:
    key = make_key(max_concurrent=3)
    admitted, rejected = await admit_many(limiter, key, 40)
    assert len(admitted) == 3
    assert all(isinstance(e, RateLimited) and e.retry_after == 1.0 for e in rejected)
    assert "concurrent" in str(rejected[0])
    await admitted[0].settle(Decimal(0), 0)
    await admitted[1].release()
    more, _ = await admit_many(limiter, key, 10)
    assert len(more) == 2


async def test_settle_and_release_are_idempotent(limiter: KeyLimiter) -> None:
    key = make_key(max_concurrent=1, rpm=10)
    first = await admit(limiter, key)
    await first.settle(Decimal(0), 5)
    await first.settle(Decimal(0), 5)
    await first.release()  # after settle: ignored, the request stays counted
    second = await admit(limiter, key)
    assert second.headers["x-ratelimit-remaining-requests"] == "8"
    await second.release()
    await second.release()
    third = await admit(limiter, key)
    assert third.headers["x-ratelimit-remaining-requests"] == "8"


# --- tokens per minute ---------------------------------------------------------------------------------


async def test_tpm_reserves_then_settles_to_actual(limiter: KeyLimiter, clock: FakeClock) -> None:
    key = make_key(tpm=10_000)
    a = await admit(limiter, key, 1000, 3000)  # reserves 4000
    assert a.headers["x-ratelimit-remaining-tokens"] == "6000"
    b = await admit(limiter, key, 1000, 3000)
    assert b.headers["x-ratelimit-remaining-tokens"] == "2000"
    clock.advance(5)
    with pytest.raises(RateLimited) as caught:
        await admit(limiter, key, 1000, 3000)
    assert caught.value.retry_after == 55.0  # a's 4000 leave at t=60
    assert caught.value.headers["x-ratelimit-remaining-tokens"] == "2000"
    assert caught.value.headers["x-ratelimit-limit-tokens"] == "10000"
    await a.settle(Decimal(0), 1200)  # actual usage: 2800 tokens freed
    c = await admit(limiter, key, 1000, 3000)
    assert c.headers["x-ratelimit-remaining-tokens"] == str(10_000 - 1200 - 4000 - 4000)
    await b.release()  # failed without usage: its 4000 are freed
    d = await admit(limiter, key, 1000, 3000)
    assert d.headers["x-ratelimit-remaining-tokens"] == str(10_000 - 1200 - 4000 - 4000)


async def test_tpm_request_larger_than_limit_is_not_retryable(limiter: KeyLimiter) -> None:
    key = make_key(tpm=10_000)
    with pytest.raises(RateLimited) as caught:
        await admit(limiter, key, 8000, 4000)
    assert caught.value.retry_after is None
    assert caught.value.headers["x-should-retry"] == "false"
    assert "max_tokens" in caught.value.message
    assert (await admit(limiter, key, 6000, 4000)).headers["x-ratelimit-remaining-tokens"] == "0"


async def test_tpm_window_slides(limiter: KeyLimiter, clock: FakeClock) -> None:
    key = make_key(tpm=3000)
    for _ in range(3):
        await (await admit(limiter, key, 500, 500)).settle(Decimal(0), 1000)
        clock.advance(20)
    # t=60: the t=0 entry has just left; 2000 in the window, 2000 more need the t=20 entry gone.
    with pytest.raises(RateLimited) as caught:
        await admit(limiter, key, 500, 1500)
    assert caught.value.retry_after == 20.0
    clock.advance(20)
    await admit(limiter, key, 500, 1500)


# --- budget --------------------------------------------------------------------------------------------


async def test_budget_cannot_be_overspent_by_concurrency(limiter: KeyLimiter) -> None:
    key = make_key(budget_usd=WORST * 50)
    admitted, rejected = await admit_many(limiter, key, 200)
    assert len(admitted) == 50
    assert len(rejected) == 150
    for err in rejected:
        assert isinstance(err, QuotaExceeded)
        assert err.status == 429 and err.code == "insufficient_quota"
        assert err.headers["x-should-retry"] == "false"
    await asyncio.gather(*(a.settle(WORST, 2000) for a in admitted))
    spent = WORST * len(admitted)
    assert spent <= key.budget_usd  # type: ignore[operator]
    with pytest.raises(QuotaExceeded) as caught:
        await admit(limiter, key, 1, 1)
    assert "$0.90 spent" in caught.value.message


async def test_settle_frees_the_difference_and_release_frees_all(limiter: KeyLimiter) -> None:
    key = make_key(budget_usd=WORST * 10)  # $0.18
    admitted, _ = await admit_many(limiter, key, 10)
    assert len(admitted) == 10
    for a in admitted[:5]:
        await a.settle(Decimal("0.008"), 1500)  # $0.010 less than reserved, each
    for a in admitted[5:]:
        await a.release()
    # spent $0.04 of $0.18: $0.14 left fits 7 worst cases ($0.126), not 8.
    more, rejected = await admit_many(limiter, key, 20)
    assert len(more) == 7
    assert all(isinstance(e, QuotaExceeded) for e in rejected)


async def test_budget_baseline_comes_from_the_ledger_once(new_limiter: LimiterFactory, ledger: FakeLedger) -> None:
    key = make_key(budget_usd=Decimal("1.00"), budget_period="daily")
    ledger.spent[key.id] = Decimal("0.60")
    limiter = new_limiter()
    admitted, rejected = await admit_many(limiter, key, 40)
    assert len(admitted) == 22  # $0.40 / $0.018
    assert all(isinstance(e, QuotaExceeded) for e in rejected)
    assert ledger.calls == [(key.id, datetime(2025, 6, 11, tzinfo=UTC))]
    other = new_limiter()  # a second replica finds the counter initialised
    with pytest.raises(QuotaExceeded):
        await admit(other, key)
    assert len(ledger.calls) == 1


async def test_budget_period_rollover(limiter: KeyLimiter, clock: FakeClock, ledger: FakeLedger) -> None:
    key = make_key(budget_usd=WORST * 2, budget_period="daily")
    for a in (await admit(limiter, key), await admit(limiter, key)):
        await a.settle(WORST, 2000)
    with pytest.raises(QuotaExceeded) as caught:
        await admit(limiter, key)
    assert "until 2025-06-12 00:00 UTC" in caught.value.message
    clock.set(datetime(2025, 6, 11, 23, 59, 59, tzinfo=UTC))
    with pytest.raises(QuotaExceeded):
        await admit(limiter, key)
    clock.set(datetime(2025, 6, 12, 0, 0, 0, tzinfo=UTC))
    late = await admit(limiter, key)
    assert ledger.calls[-1] == (key.id, datetime(2025, 6, 12, tzinfo=UTC))
    await late.settle(WORST, 2000)
    await admit(limiter, key)
    with pytest.raises(QuotaExceeded):
        await admit(limiter, key)


async def test_request_admitted_before_rollover_is_charged_to_its_own_period(
    limiter: KeyLimiter, clock: FakeClock
) -> None:
    key = make_key(budget_usd=WORST * 2, budget_period="monthly")
    clock.set(datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC))
    june = await admit(limiter, key)
    clock.advance(2)  # July
    await june.settle(WORST, 2000)  # charged to June
    await admit(limiter, key)
    await admit(limiter, key)
    with pytest.raises(QuotaExceeded):
        await admit(limiter, key)


async def test_unlimited_spend_still_counts_toward_a_budget_set_again(limiter: KeyLimiter) -> None:
    limited = make_key(budget_usd=WORST * 3)
    await (await admit(limiter, limited)).settle(WORST, 2000)
    unlimited = replace(limited, budget_usd=None)
    free = await admit(limiter, unlimited)
    assert free.headers == {}
    await free.settle(WORST, 2000)  # recorded on the counter that exists
    await admit(limiter, limited)  # $0.036 spent + $0.018 reserved = budget
    with pytest.raises(QuotaExceeded):
        await admit(limiter, limited)


async def test_zero_budget_rejects_everything(limiter: KeyLimiter) -> None:
    with pytest.raises(QuotaExceeded):
        await admit(limiter, make_key(budget_usd=Decimal(0)), 1, 1)


# --- replicas and leases -------------------------------------------------------------------------------


async def test_two_replicas_keep_exact_totals(new_limiter: LimiterFactory) -> None:
    replicas = [new_limiter(), new_limiter()]
    key = make_key(rpm=60, max_concurrent=25, budget_usd=WORST * 40)
    admitted, _ = await admit_many(replicas, key, 100)
    assert len(admitted) == 25  # concurrency binds
    await asyncio.gather(*(a.settle(WORST, 2000) for a in admitted))
    admitted, rejected = await admit_many(replicas, key, 100)
    assert len(admitted) == 15  # the budget binds: 40 worst cases - 25 spent
    assert {type(e) for e in rejected} == {QuotaExceeded}
    await asyncio.gather(*(a.release() for a in admitted))
    admitted, rejected = await admit_many(replicas, key, 100, 1, 1)
    assert len(admitted) == 25  # concurrency again (rpm: 25 + 25 of 60)
    assert {type(e) for e in rejected} == {RateLimited}
    await asyncio.gather(*(a.settle(Decimal(0), 2) for a in admitted))
    admitted, rejected = await admit_many(replicas, key, 100, 1, 1)
    assert len(admitted) == 10  # rpm binds: 50 of 60 used
    assert {(type(e), getattr(e, "retry_after", None)) for e in rejected} == {(RateLimited, 60.0)}


async def test_lease_of_a_dead_replica_expires(new_limiter: LimiterFactory, clock: FakeClock) -> None:
    dead, alive = new_limiter(lease_seconds=30), new_limiter(lease_seconds=30)
    key = make_key(max_concurrent=1)
    await admit(dead, key)
    await dead.close()  # the replica dies: its lease is never renewed, settled or released
    with pytest.raises(RateLimited):
        await admit(alive, key)
    clock.advance(29.9)
    with pytest.raises(RateLimited):
        await admit(alive, key)
    clock.advance(0.2)
    await admit(alive, key)


async def test_budget_reservation_of_a_dead_replica_expires(new_limiter: LimiterFactory, clock: FakeClock) -> None:
    dead, alive = new_limiter(lease_seconds=30), new_limiter(lease_seconds=30)
    key = make_key(budget_usd=WORST * 2)
    await admit(dead, key)
    await admit(dead, key)
    await dead.close()
    with pytest.raises(QuotaExceeded):
        await admit(alive, key)
    clock.advance(30.1)
    adm = await admit(alive, key)
    await adm.settle(WORST, 2000)
    await admit(alive, key)
    with pytest.raises(QuotaExceeded):
        await admit(alive, key)


async def test_live_replica_renews_its_leases(new_limiter: LimiterFactory) -> None:
    holder = new_limiter(clock=time.time, lease_seconds=0.3)
    other = new_limiter(clock=time.time, lease_seconds=0.3)
    key = make_key(max_concurrent=1)
    await admit(holder, key)
    await asyncio.sleep(0.8)  # more than two lease lengths: only renewal keeps the slot
    with pytest.raises(RateLimited):
        await admit(other, key)
    await holder.close()  # renewal stops
    await asyncio.sleep(0.5)
    await (await admit(other, key)).release()


async def test_a_budget_smaller_than_one_requests_worst_case_says_so(limiter: KeyLimiter) -> None:
    """Issue 10 item 12: not "used up: $0.00 spent" but what the request may cost and what to change."""
    key = make_key(budget_usd=Decimal("0.001"))
    with pytest.raises(QuotaExceeded) as caught:
        await admit(limiter, key, 1000, 1000)
    message = caught.value.message
    assert "used up" not in message
    assert "$0.018" in message and "$0.001" in message and "max_tokens" in message
    assert caught.value.param == "max_tokens"
