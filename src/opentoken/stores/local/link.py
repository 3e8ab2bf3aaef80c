"""A worker's one connection to its supervisor: requests are multiplexed by id, notices come unasked.

If the connection is lost (the supervisor is gone) every pending and later request fails with
``Overloaded`` (503), as the Redis counters fail closed; the worker process itself notices that its parent
is gone and drains (``serving.worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import cast

from opentoken.core.errors import Overloaded
from opentoken.stores.counters import Outcome
from opentoken.stores.local.wire import FrameError, Frames, FromSupervisor, Notice, Request, frame

log = logging.getLogger(__name__)

UNAVAILABLE = "rate limit store unavailable (the supervisor process is gone)"


class SupervisorLink(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._frames: Frames[FromSupervisor] = Frames(FromSupervisor)  # type: ignore[arg-type]
        self._pending: dict[int, asyncio.Future[Outcome | None]] = {}
        self._next = 0
        self._lost = False
        self.on_notice: list[Callable[[str], None]] = []

    @classmethod
    async def connect(cls, path: str) -> SupervisorLink:
        link = cls()
        await asyncio.get_running_loop().create_unix_connection(lambda: link, path)
        return link

    def rid(self) -> int:
        self._next += 1
        return self._next

    async def call(self, request: Request) -> Outcome | None:
        """Send ``request`` (made with ``rid()``) and wait for its reply."""
        if self._lost or self._transport is None:
            raise Overloaded(UNAVAILABLE)
        future: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        self._pending[request.rid] = future
        self._transport.write(frame(request))
        return await future

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._frames.feed(data)
        except FrameError as e:
            log.error("bad frame from the supervisor: %s", e)
            if self._transport is not None:
                self._transport.abort()
            return
        for message in messages:
            if isinstance(message, Notice):
                for callback in list(self.on_notice):
                    callback(message.notice)
                continue
            future = self._pending.pop(message.rid, None)
            if future is not None and not future.done():
                future.set_result(message.outcome)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(Overloaded(UNAVAILABLE))
        if not self._closing:
            log.error("lost the connection to the supervisor: %s", exc or "closed")

    _closing = False

    def close(self) -> None:
        self._closing = True
        if self._transport is not None:
            with contextlib.suppress(RuntimeError):
                self._transport.close()
