"""``send_coalesced``: frames ready together go in one send; what interrupts the sender reaches the frames
where they wait, as if they had been awaited directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from opentoken.http.coalesce import send_coalesced


async def test_frames_of_one_read_are_joined_and_each_wait_flushes() -> None:
    """(A wait that does not suspend the task, such as a queue that already holds the next read, flushes
    nothing: those frames were ready at the same moment.)"""

    async def frames() -> AsyncIterator[bytes]:
        for batch in ([b"a", b"b", b"c"], [b"d"], [b"e", b"f"]):
            await asyncio.sleep(0)  # the next read: the task waits on the loop
            for frame in batch:
                yield frame

    sent: list[bytes] = []

    async def send(body: bytes) -> None:
        sent.append(body)

    await send_coalesced(frames(), send)
    assert sent == [b"abc", b"d", b"ef"]


async def test_a_cancelled_sender_cancels_the_frames_where_they_wait() -> None:
    reached: list[str] = []
    waiting = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            waiting.set()
            await asyncio.sleep(30)  # a slow upstream
            yield b"never"
        except asyncio.CancelledError:
            reached.append("cancelled")
            raise
        finally:
            reached.append("closed")

    sent: list[bytes] = []

    async def send(body: bytes) -> None:
        sent.append(body)

    task = asyncio.create_task(send_coalesced(frames(), send))
    await waiting.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == [b"first"]
    assert reached == ["cancelled", "closed"]


async def test_a_failing_send_unwinds_the_waiting_frames() -> None:
    closed: list[str] = []

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"one"
            await asyncio.sleep(0)  # the next read: the first frame is sent now, and that fails
            yield b"two"
        finally:
            closed.append("closed")

    async def send(body: bytes) -> None:
        raise TimeoutError("the client stopped reading")

    with pytest.raises(TimeoutError):
        await send_coalesced(frames(), send)
    assert closed == ["closed"]
