"""The supervisor's counters and relay over a real Unix socket (``stores.local``): frames split anywhere,
notices reach every worker, and a lost supervisor fails closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opentoken.core.errors import Overloaded
from opentoken.stores.counters import Ask
from opentoken.stores.factory import open_counters
from opentoken.stores.local.bus import LocalBus
from opentoken.stores.local.counters import LocalCounters
from opentoken.stores.local.link import SupervisorLink
from opentoken.stores.local.server import CounterServer
from opentoken.stores.local.wire import Acquire, FrameError, Frames, Publish, Request, frame
from opentoken.stores.redis.bus import RedisBus
from opentoken.stores.redis.counters import RedisCounters


def ask(n: int, rpm: int = 2) -> Ask:
    return Ask(key_id="key_a", admission_id=f"a{n}", now_ms=1_000, period="all", budget_ttl_ms=0, rpm=rpm)


def test_frames_decode_whatever_the_chunks() -> None:
    sent = [Acquire(1, ask(1)), Publish(2, "@catalog"), Acquire(3, ask(3))]
    data = b"".join(frame(m) for m in sent)
    for size in (1, 3, 7, len(data)):
        frames: Frames[Request] = Frames(Request)  # type: ignore[arg-type]
        got = [m for at in range(0, len(data), size) for m in frames.feed(data[at : at + size])]
        assert got == sent


def test_a_frame_that_is_not_one_is_refused() -> None:
    frames: Frames[Request] = Frames(Request)  # type: ignore[arg-type]
    with pytest.raises(FrameError):
        frames.feed((3).to_bytes(4, "big") + b"\xc1\xc1\xc1")
    with pytest.raises(FrameError):
        Frames(Request).feed((1 << 30).to_bytes(4, "big"))  # type: ignore[arg-type]


async def test_counts_are_shared_and_notices_reach_every_worker(tmp_path: Path) -> None:
    server = CounterServer()
    path = str(tmp_path / "s.sock")
    await server.start(path)
    try:
        one, two = await SupervisorLink.connect(path), await SupervisorLink.connect(path)
        first, second = LocalCounters(one), LocalCounters(two)
        verdicts = await asyncio.gather(first.acquire(ask(1)), second.acquire(ask(2)), first.acquire(ask(3)))
        assert sorted(o.verdict for o in verdicts) == ["granted", "granted", "requests"]
        heard: list[tuple[str, str]] = []
        bus_one, bus_two = LocalBus(one), LocalBus(two)
        await bus_one.start(lambda notice: heard.append(("one", notice)))
        await bus_two.start(lambda notice: heard.append(("two", notice)))
        await bus_two.publish("key_a")  # answered once sent to every worker: both have it by then
        await asyncio.sleep(0.05)
        assert sorted(heard) == [("one", "key_a"), ("two", "key_a")]
        await bus_one.close()
        await bus_two.close()
        await first.close()
        await second.close()
    finally:
        await server.close()


async def test_without_the_supervisor_counters_fail_closed_and_publish_only_logs(tmp_path: Path) -> None:
    server = CounterServer()
    path = str(tmp_path / "s.sock")
    await server.start(path)
    link = await SupervisorLink.connect(path)
    while not server.connections:  # accepted
        await asyncio.sleep(0.01)
    await server.close()
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded):
        await LocalCounters(link).acquire(ask(1))
    await LocalBus(link).publish("key_a")  # the key caches expire within a second anyway


async def test_with_redis_the_workers_share_redis_not_the_supervisor(redis_url: str, tmp_path: Path) -> None:
    counters, bus = await open_counters(redis_url, supervisor=str(tmp_path / "no-supervisor.sock"))
    try:
        assert isinstance(counters, RedisCounters) and isinstance(bus, RedisBus)
    finally:
        await bus.close()
        await counters.close()
