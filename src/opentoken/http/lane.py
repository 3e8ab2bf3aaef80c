"""The model routes' fast lane: the middleware stack's work for ``POST /v1/chat/completions`` and the other
plain-ASGI ingress endpoints, done in one frame with one ``send`` wrapper.

Through the stack, a request passes Starlette's error middleware, ``CancelOnDisconnect``,
``RequestIdMiddleware``, ``Observe``, ``InternalErrors``, Starlette's exception middleware and its router
(which tries each route's pattern in turn), and every ``send`` goes through six wrappers. The lane does the
same things in the same order for the routes it is given, and nothing else:

- a request id on the scope, on the log lines (``REQUEST_ID``) and as the response's ``x-request-id``;
- the ``RequestRecord`` bound for the layers below, the in-flight count, the status and error code noted
  from what is sent, and, when the response is over, the request metric and the access line
  (``observe.finish``);
- an unexpected exception answered as the OpenAI-shaped 500 (``answer_internal_error``), or re-raised when
  the response had started; a client that left while its body was read, not answered;
- a client that leaves before the response starts cancels the request (``disconnect.Watch``, through the
  server's disconnect hook).

Only while OpenTelemetry is off: with it on (server spans, content capture) requests take the stack.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opentoken.core.context import REQUEST_ID
from opentoken.http.access import ACCESS_LOGGER
from opentoken.http.disconnect import Watch, disconnect_hook
from opentoken.http.failures import answer_internal_error
from opentoken.http.observe import INGRESS, Observer, Sender, finish
from opentoken.telemetry.record import RequestRecord, bind, unbind

log = logging.getLogger("opentoken.http")


class LaneSender(Sender):
    """``Observe``'s sender, which also adds ``x-request-id``, stops the disconnect watch and notes the start."""

    __slots__ = ("_headers", "_watch", "started")

    def __init__(self, send: Send, record: RequestRecord, headers: list[tuple[bytes, bytes]], watch: Watch) -> None:
        super().__init__(send, record, None)
        self._headers = headers
        self._watch = watch
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self._watch.stop()
            message["headers"] = [*message.get("headers", []), *self._headers]
        await super().__call__(message)


class Lane:
    """Serves the routes in ``routes`` (path -> plain ASGI endpoint, POST only) as the middleware stack would."""

    def __init__(self, observer: Observer, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        """``headers``: added to every response next to ``x-request-id`` (``x-opentoken-worker``)."""
        self.observer = observer
        self.headers = headers
        self.access = logging.getLogger(ACCESS_LOGGER)
        self.routes: dict[str, ASGIApp] = {}

    def endpoint(self, scope: Scope) -> ASGIApp | None:
        """The endpoint for this request if the lane serves it, else None (the stack does)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        if self.observer.telemetry is not None:
            return None
        return self.routes.get(scope["path"])

    async def __call__(self, endpoint: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = "req_" + secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id
        id_token = REQUEST_ID.set(request_id)
        path: str = scope["path"]
        record = RequestRecord(
            request_id=request_id, method="POST", path=path, started=time.perf_counter(), ingress=INGRESS.get(path)
        )
        watch = Watch(asyncio.current_task(), receive, disconnect_hook(scope))
        sender = LaneSender(send, record, [(b"x-request-id", request_id.encode()), *self.headers], watch)
        bound = bind(record)
        observer = self.observer
        observer.in_flight += 1
        try:
            await self._run(endpoint, scope, watch, sender)
        except asyncio.CancelledError:
            record.status = record.status or 499  # the client went away before the response started
            if not watch.cancelled:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # we cancelled it because the client left: nobody to answer
        except BaseException:
            record.status = record.status or 500
            raise
        finally:
            watch.stop()
            observer.in_flight -= 1
            unbind(bound)
            finish(observer, self.access, record, None)
            REQUEST_ID.reset(id_token)

    @staticmethod
    async def _run(endpoint: ASGIApp, scope: Scope, watch: Watch, sender: LaneSender) -> None:
        try:
            await endpoint(scope, watch.receive, sender)
        except ClientDisconnect:
            return  # the client left while its body was read: nobody to answer
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if sender.started:
                raise
            await answer_internal_error(sender)
