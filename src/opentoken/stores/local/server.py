"""The supervisor's side: one ``MemoryCounters`` and the notice relay, served on a Unix domain socket.

Each frame is handled to the end before the next (``MemoryCounters`` never awaits), so every counter
operation is atomic across all workers, exactly as it is across the tasks of one process. The replies to
the frames of one read go out in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

from opentoken.stores.counters import Outcome
from opentoken.stores.local.wire import (
    Acquire,
    FrameError,
    Frames,
    InitBudget,
    Notice,
    Publish,
    Release,
    Renew,
    Reply,
    Request,
    Settle,
    frame,
)
from opentoken.stores.memory.counters import MemoryCounters

log = logging.getLogger(__name__)
T = TypeVar("T")


def _now(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never awaits (the ``MemoryCounters`` methods) to its end, here and now."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    work.close()
    raise RuntimeError("a counter operation awaited; it must run without awaiting")


class _Connection(asyncio.Protocol):
    def __init__(self, server: CounterServer) -> None:
        self._server = server
        self._frames: Frames[Request] = Frames(Request)  # type: ignore[arg-type]
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        if self._server.closed:  # accepted just before the server closed
            self.transport.close()
            return
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            requests = self._frames.feed(data)
        except FrameError as e:
            log.error("bad frame from a worker: %s", e)
            self.transport.abort()
            return
        replies = [frame(self._server.handle(request)) for request in requests]
        if replies:
            self.transport.write(b"".join(replies))


class CounterServer:
    """Serves ``stores.local`` clients on ``path`` until ``close``."""

    def __init__(self, counters: MemoryCounters | None = None) -> None:
        self._counters = counters or MemoryCounters()
        self.connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._path: str | None = None
        self.closed = False

    async def start(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _Connection(self), path)
        os.chmod(path, 0o600)  # only this user's processes talk to the counters
        self._path = path

    def handle(self, request: Request) -> Reply:
        counters = self._counters
        outcome: Outcome | None = None
        if isinstance(request, Acquire):
            outcome = _now(counters.acquire(request.ask))
        elif isinstance(request, Settle):
            _now(counters.settle(request.ask, request.cost_nanos, request.tokens))
        elif isinstance(request, Release):
            _now(counters.release(request.ask))
        elif isinstance(request, Renew):
            _now(counters.renew(request.asks, request.now_ms, request.until_ms))
        elif isinstance(request, InitBudget):
            _now(counters.init_budget(request.key_id, request.period, request.spent_nanos, request.ttl_ms))
        elif isinstance(request, Publish):
            self.broadcast(request.notice)
        return Reply(request.rid, outcome)

    def broadcast(self, notice: str) -> None:
        data = frame(Notice(notice))
        for connection in list(self.connections):
            if connection.transport is not None and not connection.transport.is_closing():
                connection.transport.write(data)

    async def close(self) -> None:
        self.closed = True
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await self._server.wait_closed()
            self._server = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            self._path = None
