"""Observe every HTTP request: a pure ASGI middleware, inside ``RequestIdMiddleware``.

For each request it creates the ``RequestRecord`` the layers below fill (bound to the request's context),
counts it in flight, and when the response is over writes the access-log line, observes
``opentoken_http_request_duration_seconds`` and, with OpenTelemetry configured, ends the SERVER span (which
continues the client's ``traceparent`` and is current while the request runs, so the admission, upstream
attempt and ledger spans are its children) and records the GenAI metrics.

Without OpenTelemetry the cost per request is one record, two clock reads, one histogram observation and
the access line (skipped when the ``opentoken.access`` logger is below INFO).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import orjson
from opentelemetry import context as otel_context
from opentelemetry.trace import set_span_in_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opentoken.http.access import ACCESS_LOGGER, write_access_line
from opentoken.http.content import ContentCapture
from opentoken.metering.metrics import Metrics
from opentoken.telemetry.record import RequestRecord, bind, unbind
from opentoken.telemetry.tracing import Telemetry

# the wire API each model route serves, by the name its codec records in the ledger
INGRESS = {
    "/v1/chat/completions": "openai_chat",
    "/v1/messages": "anthropic_messages",
    "/v1/messages/count_tokens": "anthropic_messages",
    "/v1/responses": "openai_responses",
    "/v1/embeddings": "openai_embeddings",
}
CAPTURED = "openai_chat"  # content capture reads the Chat Completions shape only
# successful probes and scrapes are not access-logged (a load balancer polls them several times a second)
QUIET = frozenset(("/healthz", "/readyz", "/metrics"))
_ERROR_BODY_MAX = 16 * 1024


@dataclass(slots=True)
class Observer:
    """What the middleware reports to. ``telemetry`` is set by the app's lifespan when OTEL_* configures it."""

    metrics: Metrics
    access_log: bool = True
    telemetry: Telemetry | None = None
    in_flight: int = 0


class Observe:
    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app = app
        self.observer = observer
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observer = self.observer
        path: str = scope["path"]
        record = RequestRecord(
            request_id=scope["state"]["request_id"],
            method=scope["method"],
            path=path,
            started=time.perf_counter(),
            ingress=INGRESS.get(path),
        )
        telemetry = observer.telemetry
        capture: ContentCapture | None = None
        attached = None
        span = telemetry.server_span(scope["headers"], record.method, path) if telemetry is not None else None
        if telemetry is not None and span is not None:
            record.server_span = span
            attached = otel_context.attach(set_span_in_context(span))
            if telemetry.capture_content and record.ingress == CAPTURED:
                capture = ContentCapture()
                receive = capture.receive(receive)
        bound = bind(record)
        observer.in_flight += 1
        try:
            await self.app(scope, receive, Sender(send, record, capture))
        except asyncio.CancelledError:
            record.status = record.status or 499  # the client went away before the response started
            raise
        except BaseException:
            record.status = record.status or 500  # answered by the outermost error handler
            raise
        finally:
            observer.in_flight -= 1
            unbind(bound)
            if attached is not None:
                otel_context.detach(attached)
            finish(observer, self.log, record, capture)


def finish(observer: Observer, access: logging.Logger, record: RequestRecord, capture: ContentCapture | None) -> None:
    """The response is over: the request metric, the span and GenAI metrics (with telemetry), the access line."""
    seconds = time.perf_counter() - record.started
    status = record.status or 500
    observer.metrics.http_request(record.path, record.method, status, seconds)
    telemetry = observer.telemetry
    if telemetry is not None:
        if capture is not None and record.server_span is not None:
            record.server_span.set_attributes(capture.attributes())
        telemetry.finish(record, seconds)
    if observer.access_log and not (status < 400 and record.path in QUIET):
        write_access_line(access, record, status, seconds)


class Sender:
    """The ``send`` the app gets: notes the status, the error code of an error reply, and captured content."""

    __slots__ = ("_capture", "_error", "_record", "_send")
    # (``opentoken.http.lane`` extends it for the model routes, so that one wrapper does every middleware's part)

    def __init__(self, send: Send, record: RequestRecord, capture: ContentCapture | None) -> None:
        self._send = send
        self._record = record
        self._capture = capture
        self._error = bytearray()

    async def __call__(self, message: Message) -> None:
        record = self._record
        if message["type"] == "http.response.start":
            record.status = message["status"]
        elif record.status is not None and record.status >= 400 and record.error_code is None:
            self._error_body(message)
        if self._capture is not None:
            self._capture.sent(message)
        await self._send(message)

    def _error_body(self, message: Message) -> None:
        """The error code of a JSON error reply (``{"error": {"code" or "type": ...}}``), read once it is whole."""
        if len(self._error) < _ERROR_BODY_MAX:
            self._error += message.get("body", b"")
        if message.get("more_body", False):
            return
        try:
            body = orjson.loads(self._error)
        except orjson.JSONDecodeError:
            return
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            if isinstance(code, str):
                self._record.error_code = code
