"""Cancel a request whose client goes away before its response starts.

Once the request body has been read, a watcher waits for the server's ``http.disconnect``; if it comes
before ``http.response.start`` the request's task is cancelled, which cancels the upstream call it is
waiting on (a slow first token, a non-streamed reply). The watcher task is armed ``ARM_AFTER`` seconds
after the body is read, so the many replies that start sooner never create one; a client that leaves is
still noticed within a few milliseconds. After a streamed response has started, the ingress endpoint watches
for the disconnect itself (``opentoken.http.endpoint.send_stream``): through the server's ``ON_DISCONNECT``
hook when the scope carries one (the gateway's own protocol, ``opentoken.http.server``), else with a watcher
task of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ARM_AFTER = 0.005

ON_DISCONNECT = "opentoken.on_disconnect"
"""Scope key of a server extension: ``hook(callback)`` has ``callback()`` called (once, from the event loop)
when the client's connection is lost; ``hook(None)`` forgets the callback. It returns False, and keeps
nothing, when the connection is already gone. It spares a long stream a task blocked in ``receive`` (and
its coroutines, future and event) for the whole stream."""

OnDisconnect = Callable[[Callable[[], None] | None], bool]


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
        await Watch(asyncio.current_task(), receive).run(self.app, scope, send)


class Watch:
    def __init__(self, task: asyncio.Task[object] | None, receive: Receive) -> None:
        self._task = task
        self._receive = receive
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
            self._timer = asyncio.get_running_loop().call_later(ARM_AFTER, self._arm)
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

    def _arm(self) -> None:
        self._timer = None
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        message = await self._receive()
        if message["type"] == "http.disconnect" and self._task is not None:
            self._gone = self._cancelled = True
            self._task.cancel()

    def _stop(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
