"""Frames that are ready together, sent together: one ASGI ``send`` per upstream read, not one per frame.

An upstream read brings several SSE events; decoding and translating them runs without the task ever
waiting, so the frames they make are all ready before the next read starts. ``send_coalesced(frames, send)``
drives ``frames`` step by step and sends the frames gathered since the last send at the moment ``frames`` would
first have to wait (for the next upstream read, in practice), or at its end. Nothing is held back longer
than that: the first frame of a read goes out when the last one made from the same read is ready, a few
microseconds later; and a batch goes out once it holds ``MAX_BATCH`` bytes, so what a stream holds unsent
stays bounded whatever the upstream delivers in one read.

While ``frames`` waits, whatever interrupts the consumer (a cancellation, a timeout) is thrown into it at its
waiting point, exactly as if it had been awaited directly; so the layers below (the upstream read, the
metering) unwind as they always did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any


class _Resume:
    """Await a coroutine that has already been started and is suspended on ``pending``."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, bytes], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, bytes]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as e:  # noqa: BLE001 - forwarded into the coroutine, as a task would
                try:
                    pending = coro.throw(e)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                continue
            try:
                pending = coro.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


MAX_BATCH = 64 * 1024
"""Bytes gathered at most before a send even when ``frames`` has not had to wait: an upstream that is faster
than the client can make one read hold megabytes of frames, and a send is also where a client that does not
read holds the stream back (the server stops taking frames once its write buffer is full)."""


async def send_coalesced(frames: AsyncIterator[bytes], send: Callable[[bytes], Awaitable[None]]) -> None:
    """``send`` the frames of ``frames``, joined into one call for all those ready at the same moment (at
    most about ``MAX_BATCH`` bytes a call)."""
    ready: list[bytes] = []
    size = 0
    while True:
        step: Any = frames.__anext__()
        try:
            pending = step.send(None)
        except StopIteration as done:
            ready.append(done.value)  # ready at once: keep gathering, up to MAX_BATCH
            size += len(done.value)
            if size >= MAX_BATCH:
                await send(b"".join(ready))  # ``frames`` is at a yield: a failure here is the caller's to close
                ready.clear()
                size = 0
            continue
        except StopAsyncIteration:
            break
        if ready:  # ``frames`` has to wait: what it made so far goes out first
            batch = ready[0] if len(ready) == 1 else b"".join(ready)
            ready.clear()
            size = 0
            try:
                await send(batch)
            except BaseException as e:
                await _unwind(step, pending, e)
                raise
        try:
            frame = await _Resume(step, pending)
        except StopAsyncIteration:
            break
        ready.append(frame)
        size += len(frame)
    if ready:
        await send(ready[0] if len(ready) == 1 else b"".join(ready))


async def _unwind(step: Any, pending: Any, error: BaseException) -> None:
    """The consumer failed while ``step`` was suspended on ``pending``: raise ``error`` in it, where it waits,
    and let it finish what it does about it. Its cleanup may await (the metering settles the admission and
    records the call when a stream is cut): that is awaited to its end here, as a task awaiting ``step``
    directly would, never dropped halfway (which left the key's concurrency slot taken)."""
    try:
        pending = step.throw(error)
    except BaseException:  # noqa: BLE001 - ``error`` is re-raised by the caller; this only unwinds ``step``
        return
    try:
        await _Resume(step, pending)  # it caught the error and awaits its cleanup
    except BaseException:  # noqa: BLE001 - as above
        return
    # it made a frame after the error (an error frame, say): the caller closes ``frames``, which ends it
