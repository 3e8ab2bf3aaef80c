"""Cancel a request whose client goes away before its response starts.

Once the request body has been read, the request waits for the server to say its client left; if that comes
before ``http.response.start`` the request's task is cancelled, which cancels the upstream call it is
waiting on (a slow first token, a non-streamed reply). The gateway's own server says so through the
``ON_DISCONNECT`` hook it puts in the scope (``opentoken.http.server``): a callback, no task. Under another
server a watcher task reads ``receive`` for ``http.disconnect``; it is armed ``ARM_AFTER`` seconds after the
body is read, so the many replies that start sooner never create one, and a client that leaves is still
noticed within a few milliseconds. After a streamed response has started, the ingress endpoint watches for
the disconnect itself, the same way (``opentoken.http.endpoint.send_stream``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ARM_AFTER = 0.005

ON_DISCONNECT = "opentoken.on_disconnect"
"""Scope key of a server extension: ``hook(callback, True)`` has ``callback()`` called (once, from the event
loop) when the client's connection is lost; it returns False, and keeps nothing, when the connection is
already gone. ``hook(callback, False)`` forgets ``callback`` if it is still the one kept (a later request on
the same connection may have put its own). One callback at a time per connection. It spares a request that
waits (a slow upstream, a long stream) a task blocked in ``receive`` (and its coroutines, future and event)."""

OnDisconnect = Callable[[Callable[[], None], bool], bool]


def disconnect_hook(scope: Scope) -> OnDisconnect | None:
    """The server's ``ON_DISCONNECT`` hook for this request, if it has one."""
    hook: OnDisconnect | None = scope.get(ON_DISCONNECT)
    return hook


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await Watch(asyncio.current_task(), receive, disconnect_hook(scope)).run(self.app, scope, send)


class Watch:
    """Cancels ``task`` if its client leaves after its body is read and before its response starts: through
    the server's ``ON_DISCONNECT`` hook when given one (no task at all), else by a watcher task armed
    ``ARM_AFTER`` seconds after the body is read."""

    def __init__(self, task: asyncio.Task[object] | None, receive: Receive, hook: OnDisconnect | None = None) -> None:
        self._task = task
        self._receive = receive
        self._hook = hook
        self._on_lost: Callable[[], None] | None = None  # what the hook keeps, while it does
        self._watcher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._gone = False
        self._cancelled = False

    async def run(self, app: ASGIApp, scope: Scope, send: Send) -> None:
        try:
            await app(scope, self.receive, self._send(send))
        except asyncio.CancelledError:
            if not self._cancelled or self._task is None:
                raise
            self._task.uncancel()  # we cancelled it because the client left: nobody to answer
        finally:
            self._stop()

    async def receive(self) -> Message:
        if self._gone:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False) and self._task is not None:
            if self._hook is None:
                self._timer = asyncio.get_running_loop().call_later(ARM_AFTER, self._arm)
            elif self._on_lost is None:
                self._on_lost = self._lost
                if not self._hook(self._on_lost, True):  # already gone: as the watcher would find at once
                    self._on_lost = None
                    self._gone = True
        elif message["type"] == "http.disconnect":
            self._gone = True
        return message

    @property
    def cancelled(self) -> bool:
        """The request's task was cancelled by this watch (its client left)."""
        return self._cancelled

    def stop(self) -> None:
        """The response started: nothing to watch for any more."""
        self._stop()

    def _send(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._stop()
            await send(message)

        return wrapped

    def _lost(self) -> None:
        self._on_lost = None
        self._gone = self._cancelled = True
        if self._task is not None:
            self._task.cancel()

    def _arm(self) -> None:
        self._timer = None
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        message = await self._receive()
        if message["type"] == "http.disconnect" and self._task is not None:
            self._lost()

    def _stop(self) -> None:
        on_lost, self._on_lost = self._on_lost, None
        if on_lost is not None and self._hook is not None:
            self._hook(on_lost, False)
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
