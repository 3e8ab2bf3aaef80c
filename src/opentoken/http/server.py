"""The HTTP/1.1 protocol the gateway serves with: uvicorn's httptools protocol plus the bounds it lacks.

- **Header size**: a request head (request line and headers) larger than ``max_header_bytes`` is answered
  431 and the connection closed, after at most that many bytes plus one read are buffered (httptools
  itself accepts megabytes of headers).
- **Slow senders** (slowloris): the head must arrive within ``header_timeout`` seconds of its first byte
  (or of the connection), and the body within ``body_timeout`` seconds of the head; otherwise the request
  is answered 408 (if nothing was answered yet) and the connection closed. uvicorn's keep-alive timeout
  bounds an idle connection, but any byte resets it.
- **HTTP/1.0 streams**: HTTP/1.0 has no chunked transfer coding, so a response without a length is sent
  as raw bytes delimited by closing the connection (uvicorn would frame it in chunks, which an HTTP/1.0
  client reads as part of the body).

It also tells the app when the client's connection is lost, through the ``ON_DISCONNECT`` hook it puts in
every request's scope (``opentoken.http.disconnect``): a stream then needs no task waiting in ``receive``.

The error bodies are OpenAI-shaped like every other error of the gateway, and so is the 400 for a request
that is not valid HTTP. ``gateway_protocol(limits)`` is
the class given to ``uvicorn.Config(http=...)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from opentoken.http.disconnect import ON_DISCONNECT
from opentoken.ingress.openai.errors import error_json

log = logging.getLogger("opentoken.http")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 60.0


def _refusal(status: int, reason: str, message: str, code: str) -> bytes:
    body = error_json(message, "invalid_request_error", None, code)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GatewayProtocol(HttpToolsProtocol):
    limits: ClassVar[ServerLimits] = ServerLimits()
    # In slots, not in uvicorn's instance dict: added there, they grew it to its next size (~1.5 KB a connection).
    __slots__ = ("_head_bytes", "_hook", "_in_head", "_on_lost", "_timer")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._on_lost: Callable[[], None] | None = None
        self._hook = self._watch_lost  # one bound method per connection, put in each request's scope

    def _watch_lost(self, callback: Callable[[], None], watch: bool) -> bool:
        """The ``ON_DISCONNECT`` hook (``opentoken.http.disconnect``)."""
        if not watch:
            if self._on_lost is callback:
                self._on_lost = None
            return True
        if self.transport.is_closing() or (self.cycle and self.cycle.disconnected):
            return False
        self._on_lost = callback
        return True

    # ---- timers ----

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired, what)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, what: str) -> None:
        self._timer = None
        limit = self.limits.header_timeout if what == "headers" else self.limits.body_timeout
        log.info("closing a connection that did not send its request %s within %g s", what, limit)
        message = f"The request {what} did not arrive within {limit:g} s."
        self._refuse(_refusal(408, "Request Timeout", message, "request_timeout"))

    def _refuse(self, response: bytes) -> None:
        """Answer ``response`` and close, unless the request being refused was already answered."""
        cycle = None if self._in_head else self.cycle  # while a head is awaited, the last cycle is done with
        if cycle is not None:
            if cycle.response_started:  # the app already answered (a 413 before the body, say): just close
                self.transport.close()
                return
            cycle.disconnected = True  # the app's own reply, if any, is dropped
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    # ---- protocol and parser callbacks ----

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        callback, self._on_lost = self._on_lost, None
        if callback is not None:
            callback()

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        was_in_head = self._in_head
        super().data_received(data)
        if self._in_head and was_in_head and self.parser is not None:  # (a head begun in this read counts next)
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                message = f"The request headers are larger than {self.limits.max_header_bytes} bytes."
                self._disarm()
                self._refuse(_refusal(431, "Request Header Fields Too Large", message, "headers_too_large"))

    def send_400_response(self, msg: str) -> None:
        """A request httptools cannot parse: an OpenAI-shaped 400, and the connection closed."""
        if not self.transport.is_closing():
            self._refuse(_refusal(400, "Bad Request", f"{msg} It is not valid HTTP/1.1.", "invalid_http"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # a pipelined or keep-alive request: a new head starts now
            self._in_head, self._head_bytes = True, 0
        if self._timer is None:
            self._arm(self.limits.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        self._arm(self.limits.body_timeout, "body")
        self.scope[ON_DISCONNECT] = self._hook  # type: ignore[literal-required]
        super().on_headers_complete()
        if self.scope.get("http_version") == "1.0" and self.cycle is not None:
            _frame_by_close(self.cycle)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def _frame_by_close(cycle: RequestResponseCycle) -> None:
    """Send a response without a length as raw bytes ended by closing the connection (HTTP/1.0 framing)."""
    framed = cycle.send
    raw = False

    async def send(message: Any) -> None:
        nonlocal raw
        if message["type"] == "http.response.start" and not cycle.response_started:
            names = {name.lower() for name, _ in message.get("headers", [])}
            if not names & {b"content-length", b"transfer-encoding"}:
                raw, cycle.chunked_encoding, cycle.keep_alive = True, False, False
        if not raw or message["type"] != "http.response.body":
            await framed(message)
            return
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected or cycle.response_complete:
            return
        cycle.transport.write(message.get("body", b""))
        if not message.get("more_body", False):
            cycle.response_complete = True
            cycle.message_event.set()
            cycle.transport.close()
            cycle.on_response()

    cycle.send = send  # type: ignore[method-assign]


def gateway_protocol(limits: ServerLimits) -> type[GatewayProtocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    return type("GatewayProtocol", (GatewayProtocol,), {"limits": limits})
