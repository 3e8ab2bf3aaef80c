"""``send_coalesced``: frames ready together go in one send; what interrupts the sender reaches the frames
where they wait, as if they had been awaited directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from opentoken.http.coalesce import MAX_BATCH, send_coalesced


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


async def test_cleanup_that_awaits_runs_to_its_end_when_the_send_fails() -> None:
    """The frames were awaiting (the metering's ledger write, say) when the send failed: the error is raised
    there, and the cleanup that follows (settling the admission: another await) runs to its end instead of
    being closed halfway; it used to be dropped, and the key's concurrency slot with it."""
    reached: list[str] = []

    async def settle() -> None:
        await asyncio.sleep(0.01)
        reached.append("settled")

    async def frames() -> AsyncIterator[bytes]:
        yield b"last frame"
        try:
            await asyncio.sleep(0.05)  # recording the call: the last frame is sent meanwhile, and that fails
        finally:
            await settle()
        yield b"[DONE]"

    async def send(body: bytes) -> None:
        raise TimeoutError("the client stopped reading")

    with pytest.raises(TimeoutError):
        await send_coalesced(frames(), send)
    assert reached == ["settled"]


async def test_cleanup_that_awaits_runs_to_its_end_when_the_sender_is_cancelled() -> None:
    reached: list[str] = []
    sending = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"frame"
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # a cleanup that awaits
            reached.append("cleaned up")
            raise

    async def send(body: bytes) -> None:
        sending.set()
        await asyncio.sleep(30)  # a client that does not read

    task = asyncio.create_task(send_coalesced(frames(), send))
    await sending.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["cleaned up"]


async def test_frames_ready_together_go_out_in_batches_of_at_most_max_batch() -> None:
    """An upstream faster than the client can make one read hold megabytes of frames: they go out in sends
    of about MAX_BATCH bytes, never all at once, and in order."""
    frame = b"x" * 1000

    async def frames() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 1 MB, all ready without waiting
            yield frame

    sent: list[bytes] = []

    async def send(body: bytes) -> None:
        sent.append(body)

    await send_coalesced(frames(), send)
    assert b"".join(sent) == frame * 1000
    assert len(sent) >= 1000 * len(frame) // (MAX_BATCH + len(frame))
    assert max(map(len, sent)) < MAX_BATCH + len(frame)
