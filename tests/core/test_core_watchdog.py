"""``core.watchdog.Watchdog``: one timer bounds every wait of a stream, as ``asyncio.timeout`` per wait would."""

from __future__ import annotations

import asyncio
import time

import pytest

from opentoken.core.watchdog import Watchdog


async def test_a_wait_past_its_idle_bound_raises_timeout_error() -> None:
    dog = Watchdog()
    started = time.monotonic()
    with pytest.raises(TimeoutError), dog.bound(0.05):
        await asyncio.sleep(5)
    assert 0.04 <= time.monotonic() - started < 1
    dog.close()


async def test_waits_within_their_bound_go_on_for_longer_than_the_bound_in_all() -> None:
    dog = Watchdog()
    started = time.monotonic()
    for _ in range(12):  # 12 waits of 20 ms: 240 ms in all, each within the 60 ms bound
        with dog.bound(0.06):
            await asyncio.sleep(0.02)
    assert time.monotonic() - started >= 0.2
    dog.close()


async def test_time_between_waits_does_not_count() -> None:
    dog = Watchdog()
    with dog.bound(0.05):
        await asyncio.sleep(0)
    time.sleep(0.1)  # busy elsewhere, not waiting: the timer fires and finds no wait
    await asyncio.sleep(0.06)  # the timer fires while nothing is bounded
    with dog.bound(0.05):
        await asyncio.sleep(0.01)
    dog.close()


async def test_the_deadline_bounds_a_wait_whatever_its_idle_bound() -> None:
    dog = Watchdog()
    deadline = time.monotonic() + 0.08
    with dog.bound(10, deadline):
        await asyncio.sleep(0.03)
    with pytest.raises(TimeoutError), dog.bound(10, deadline):
        await asyncio.sleep(5)
    assert time.monotonic() >= deadline - 0.01
    dog.close()


async def test_a_shorter_bound_than_the_armed_timer_is_kept() -> None:
    dog = Watchdog()
    with dog.bound(10):
        await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(TimeoutError), dog.bound(0.05):
        await asyncio.sleep(5)
    assert time.monotonic() - started < 1


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    dog = Watchdog()

    async def waits() -> None:
        with dog.bound(0.05):
            await asyncio.sleep(5)

    task = asyncio.ensure_future(waits())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    dog.close()


async def test_a_cancellation_at_expiry_from_outside_too_is_not_swallowed() -> None:
    dog = Watchdog()
    seen: list[str] = []

    async def waits() -> None:
        try:
            with dog.bound(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            seen.append("timeout")
            raise

    task = asyncio.ensure_future(waits())
    await asyncio.sleep(0.01)  # the task waits
    time.sleep(0.06)  # the bound passes while the loop is busy here
    await asyncio.sleep(0)  # the watchdog's timer and this test run in the same loop iteration,
    task.cancel()  # so both cancellations reach the task before it runs again
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == []
    dog.close()


async def test_no_bound_no_timer() -> None:
    dog = Watchdog()
    with dog.bound(None):
        await asyncio.sleep(0.01)
    assert dog._handle is None
    with dog.bound(5):
        await asyncio.sleep(0)
    assert dog._handle is not None
    dog.close()
    assert dog._handle is None
