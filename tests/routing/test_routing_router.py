"""Router: retries, backoff, retry-after, deadline, fallbacks, cooldowns and leases (no network)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import (
    GatewayError,
    ModelNotFound,
    UpstreamBadRequest,
    UpstreamConnectionError,
    UpstreamCredentialsRejected,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from opentoken.providers.registry import all_providers
from opentoken.routing.pool import DeploymentPool
from opentoken.routing.retry import RetryPolicy
from opentoken.routing.router import Router
from opentoken.stores.memory.cooldowns import MemoryCooldowns
from opentoken.upstream.client import Deployment
from support.catalog import entry

CATALOG = load_catalog()
SONNET = entry(CATALOG, "anthropic/claude-sonnet-4-5")
HAIKU = CATALOG.resolve("anthropic/claude-haiku-4-5")
FLASH = CATALOG.resolve("google/gemini-3-flash")
PROVIDERS = all_providers()


def dep(name: str, provider: str = "anthropic", weight: float = 1.0, models: Sequence[str] = ()) -> Deployment:
    return Deployment(name, PROVIDERS[provider], f"http://{name}", "k", weight, tuple(models))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An attempt function answering from a script of outcomes per deployment name."""

    def __init__(self, outcomes: dict[str, list[GatewayError | str]]) -> None:
        self.outcomes = outcomes
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, model: ModelInfo, deployment: Deployment) -> str:
        self.calls.append((model.id, deployment.name))
        queue = self.outcomes[deployment.name]
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, GatewayError):
            raise outcome
        return outcome


def make_router(
    deployments: Sequence[Deployment],
    *,
    defaults: dict[str, Deployment] | None = None,
    attempts: int = 3,
    clock: Clock | None = None,
    cooldowns: MemoryCooldowns | None = None,
) -> tuple[Router, Clock, DeploymentPool]:
    clock = clock or Clock()
    pool = DeploymentPool(defaults or {}, deployments, rng=random.Random(7))
    policy = RetryPolicy(max_attempts=attempts, base_seconds=0.5, max_seconds=4.0, rng=random.Random(3))
    cd = cooldowns or MemoryCooldowns(3, 30.0, clock=clock)
    return Router(pool, cd, policy, clock=clock, sleep=clock.sleep), clock, pool


async def test_success_first_time_one_attempt_and_lease() -> None:
    router, clock, pool = make_router([dep("a")])
    routed = await router.route([SONNET], Script({"a": ["ok"]}), clock.now + 60)
    assert (routed.value, routed.model, routed.deployment.name, routed.attempts) == ("ok", SONNET, "a", 1)
    assert pool.busy(routed.deployment) == 1
    routed.lease.release()
    routed.lease.release()
    assert pool.busy(routed.deployment) == 0


@pytest.mark.parametrize(
    "error",
    [
        UpstreamOverloaded("529"),
        UpstreamServerError("500"),
        UpstreamTimeout("504"),
        UpstreamConnectionError("refused"),
        UpstreamRateLimited("429"),
    ],
)
async def test_retryable_errors_are_retried_with_backoff(error: GatewayError) -> None:
    router, clock, _ = make_router([dep("a")])
    script = Script({"a": [error, "ok"]})
    routed = await router.route([SONNET], script, clock.now + 60)
    assert routed.value == "ok" and routed.attempts == 2
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 0.5  # full jitter under base * 2**0


async def test_backoff_grows_and_attempts_are_bounded() -> None:
    router, clock, _ = make_router([dep("a")], attempts=4)
    err = UpstreamOverloaded("529")
    with pytest.raises(UpstreamOverloaded) as info:
        await router.route([SONNET], Script({"a": [err]}), clock.now + 60)
    assert info.value.attempts == 4
    assert len(clock.sleeps) == 3
    assert clock.sleeps[1] <= 1.0 and clock.sleeps[2] <= 2.0


async def test_request_errors_are_never_retried() -> None:
    router, clock, _ = make_router([dep("a"), dep("b")])
    script = Script({"a": [UpstreamBadRequest("bad")], "b": [UpstreamBadRequest("bad")]})
    with pytest.raises(UpstreamBadRequest) as info:
        await router.route([SONNET, HAIKU], script, clock.now + 60)
    assert info.value.attempts == 1 and len(script.calls) == 1 and clock.sleeps == []


async def test_x_should_retry_false_is_not_retried() -> None:
    router, clock, _ = make_router([dep("a")])
    err = UpstreamOverloaded("no")
    err.retryable = False
    script = Script({"a": [err, "ok"]})
    with pytest.raises(UpstreamOverloaded):
        await router.route([SONNET], script, clock.now + 60)
    assert len(script.calls) == 1


async def test_retry_after_is_honoured() -> None:
    router, clock, _ = make_router([dep("a")])
    script = Script({"a": [UpstreamRateLimited("429", retry_after=3.0), "ok"]})
    routed = await router.route([SONNET], script, clock.now + 60)
    assert routed.attempts == 2 and clock.sleeps == [3.0]


async def test_retry_after_longer_than_the_cap_is_not_waited_for() -> None:
    router, clock, _ = make_router([dep("a")])
    script = Script({"a": [UpstreamRateLimited("429", retry_after=30.0), "ok"]})
    with pytest.raises(UpstreamRateLimited) as info:
        await router.route([SONNET], script, clock.now + 60)
    assert info.value.attempts == 1 and info.value.retry_after == 30.0 and clock.sleeps == []


async def test_deadline_bounds_the_retries() -> None:
    router, clock, _ = make_router([dep("a")], attempts=10)
    script = Script({"a": [UpstreamRateLimited("429", retry_after=2.0)]})
    with pytest.raises(UpstreamRateLimited) as info:
        await router.route([SONNET], script, clock.now + 5)
    assert info.value.attempts == 3  # t=0, t=2, t=4; a wait to t=6 would pass the deadline
    assert clock.sleeps == [2.0, 2.0]


async def test_another_deployment_is_tried_at_once() -> None:
    router, clock, _ = make_router([dep("a"), dep("b")])
    script = Script({"a": [UpstreamOverloaded("529")], "b": [UpstreamOverloaded("529")]})
    with pytest.raises(UpstreamOverloaded) as info:
        await router.route([SONNET], script, clock.now + 60)
    names = [name for _, name in script.calls]
    assert info.value.attempts == 3
    assert set(names[:2]) == {"a", "b"} and names[2] == names[0]
    assert len(clock.sleeps) == 1  # only before going back to a deployment that already failed


async def test_fallback_model_answers_after_the_primary_runs_out() -> None:
    deployments = [dep("s", models=["anthropic/claude-sonnet-*"]), dep("h", models=["anthropic/claude-haiku-*"])]
    router, clock, _ = make_router(deployments)
    script = Script({"s": [UpstreamOverloaded("529")], "h": ["from haiku"]})
    routed = await router.route([SONNET, HAIKU], script, clock.now + 60)
    assert routed.model == HAIKU and routed.value == "from haiku" and routed.attempts == 4
    assert [m for m, _ in script.calls] == [SONNET.id] * 3 + [HAIKU.id]


@pytest.mark.parametrize(
    ("error", "falls"),
    [
        (UpstreamCredentialsRejected("creds"), True),
        (UpstreamBadRequest("too long", code="context_length_exceeded"), True),
        (UpstreamBadRequest("bad"), False),
    ],
)
async def test_which_errors_fall_back(error: GatewayError, falls: bool) -> None:
    router, clock, _ = make_router([], defaults={"anthropic": dep("a"), "google": dep("g", "google")})
    script = Script({"a": [error], "g": ["gemini"]})
    if falls:
        routed = await router.route([SONNET, FLASH], script, clock.now + 60)
        assert routed.model == FLASH and routed.attempts == 2
    else:
        with pytest.raises(type(error)):
            await router.route([SONNET, FLASH], script, clock.now + 60)
        assert len(script.calls) == 1


async def test_cooling_deployment_is_skipped_while_others_are_healthy() -> None:
    clock = Clock()
    cooldowns = MemoryCooldowns(2, 30.0, clock=clock)
    router, _, _ = make_router([dep("a"), dep("b")], clock=clock, cooldowns=cooldowns)
    await cooldowns.failed("a")
    await cooldowns.failed("a")
    script = Script({"a": ["a"], "b": ["b"]})
    for _ in range(20):
        assert (await router.route([SONNET], script, clock.now + 60)).value == "b"
    clock.now += 31
    seen = {(await router.route([SONNET], script, clock.now + 60)).value for _ in range(40)}
    assert seen == {"a", "b"}


async def test_everything_cooling_is_tried_anyway() -> None:
    clock = Clock()
    cooldowns = MemoryCooldowns(1, 30.0, clock=clock)
    router, _, _ = make_router([dep("a"), dep("b")], clock=clock, cooldowns=cooldowns)
    await cooldowns.failed("a")
    await cooldowns.failed("b")
    routed = await router.route([SONNET], Script({"a": ["a"], "b": ["b"]}), clock.now + 60)
    assert routed.value in ("a", "b")


async def test_model_whose_deployments_all_cool_down_goes_last() -> None:
    clock = Clock()
    cooldowns = MemoryCooldowns(1, 30.0, clock=clock)
    deployments = [dep("s", models=["anthropic/claude-sonnet-*"]), dep("h", models=["anthropic/claude-haiku-*"])]
    router, _, _ = make_router(deployments, clock=clock, cooldowns=cooldowns)
    await cooldowns.failed("s")
    script = Script({"s": ["sonnet"], "h": [UpstreamOverloaded("529")]})
    routed = await router.route([SONNET, HAIKU], script, clock.now + 60)
    assert routed.value == "sonnet" and routed.attempts == 4
    assert [m for m, _ in script.calls] == [HAIKU.id] * 3 + [SONNET.id]


async def test_failures_trip_the_breaker_and_success_resets() -> None:
    clock = Clock()
    cooldowns = MemoryCooldowns(3, 30.0, clock=clock)
    router, _, _ = make_router([dep("a"), dep("b")], clock=clock, cooldowns=cooldowns, attempts=2)
    script = Script({"a": [UpstreamOverloaded("529"), "a"], "b": ["b"]})
    # the first failure of "a" is counted; the success on "a" afterwards resets its count
    for _ in range(10):
        await router.route([SONNET], script, clock.now + 60)
    health = await cooldowns.health(["a", "b"])
    assert "a" not in health.cooling and "a" not in health.failing
    # a single deployment: its failures trip the breaker, a success in between resets the count
    single, _, _ = make_router([dep("c")], clock=clock, cooldowns=cooldowns, attempts=1)
    flaky = Script({"c": [UpstreamOverloaded("529"), UpstreamOverloaded("529"), "ok", UpstreamOverloaded("529")]})
    for _ in range(4):
        with contextlib.suppress(UpstreamOverloaded):
            await single.route([SONNET], flaky, clock.now + 60)
    assert "c" not in (await cooldowns.health(["c"])).cooling  # fail, fail, ok (reset), fail: count is 1
    assert await cooldowns.failed("c") is False
    assert await cooldowns.failed("c") is True


async def test_unserved_primary_is_model_not_found_and_unserved_fallback_is_skipped() -> None:
    router, clock, _ = make_router([], defaults={"anthropic": dep("a")})
    with pytest.raises(ModelNotFound):
        await router.route([FLASH], Script({}), clock.now + 60)
    routed = await router.route([SONNET, FLASH], Script({"a": ["ok"]}), clock.now + 60)
    assert routed.value == "ok"


async def test_cancellation_releases_the_lease() -> None:
    router, clock, pool = make_router([dep("a")])
    a = pool.serving(SONNET)[0]

    async def cancelled(model: ModelInfo, deployment: Deployment) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await router.route([SONNET], cancelled, clock.now + 60)
    assert pool.busy(a) == 0


def test_policy_delay_caps() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=1.0, max_seconds=4.0, rng=random.Random(1))
    assert all(0 <= policy.delay(n, None) <= min(4.0, 2 ** (n - 1)) for n in range(1, 8) for _ in range(50))  # type: ignore[operator]
    assert policy.delay(1, 4.0) == 4.0 and policy.delay(1, 4.5) is None and policy.delay(3, 0.0) == 0.0
