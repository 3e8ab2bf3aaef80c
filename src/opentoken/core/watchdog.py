"""Bounds on the waits of a long stream with one timer per stream instead of one per wait.

A stream waits thousands of times (each upstream read, each send to its client), and each wait must end
within a bound: the upstream's idle timeout and the request's deadline for a read, the stall timeout for a
send. ``asyncio.timeout`` per wait costs a ``Timeout`` object, two coroutine calls and a timer created and
cancelled: about 3.8 µs on uvloop, where the wait itself (a read that is ready) costs about 1 µs. A
``Watchdog`` is entered around every wait of one task (``with dog.bound(idle, deadline): await ...``);
entering notes the time, leaving clears it, and its single timer fires only when the current wait could
have run past its bound (it then re-arms for the current wait's own bound, or expires it). An expired
wait behaves as under ``asyncio.timeout``: the task is cancelled, and leaving the ``with`` turns that
cancellation into ``TimeoutError``, unless the task was also cancelled by someone else (that cancellation
goes on). A wait that is not ``bound`` to anything costs two attribute stores.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Watchdog:
    __slots__ = ("_cancelling", "_deadline", "_expired", "_handle", "_idle", "_loop", "_since", "_task")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._since: float | None = None  # loop time the current wait began; None: not waiting
        self._idle: float | None = None  # the current wait's own bound, in seconds
        self._deadline: float | None = None  # and the absolute one (``time.monotonic()``, the loop's clock)
        self._cancelling = 0
        self._expired = False

    def bound(self, idle: float | None, deadline: float | None = None) -> Watchdog:
        """The next wait ends within ``idle`` seconds of its start and by ``deadline`` (either may be None)."""
        self._idle, self._deadline = idle, deadline
        return self

    def __enter__(self) -> Watchdog:
        idle, deadline = self._idle, self._deadline
        if idle is None and deadline is None:
            return self
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        task = self._task = asyncio.current_task(loop)
        assert task is not None, "a Watchdog bounds the waits of a task"
        self._cancelling = task.cancelling()
        now = self._since = loop.time()
        due = self._due(now)
        if self._handle is None or due < self._handle.when():  # a later timer re-arms itself when it fires
            if self._handle is not None:
                self._handle.cancel()
            self._handle = loop.call_at(due, self._check)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._since = None
        if self._expired:
            self._expired = False
            task = self._task
            if task is not None and task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
                raise TimeoutError from error

    def close(self) -> None:
        """Stop the timer (the stream is over)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()

    def _due(self, since: float) -> float:
        idle, deadline = self._idle, self._deadline
        if idle is None:
            return deadline if deadline is not None else float("inf")
        return since + idle if deadline is None else min(since + idle, deadline)

    def _check(self) -> None:
        self._handle = None
        since, loop = self._since, self._loop
        if since is None or loop is None or (self._idle is None and self._deadline is None):
            return  # not waiting: the next wait arms the timer again
        due = self._due(since)
        if loop.time() >= due:
            if self._task is not None and not self._expired:
                self._expired = True
                self._task.cancel()
            return
        self._handle = loop.call_at(due, self._check)
