"""The request id: on every response, and on every log line written while the request is served."""

from __future__ import annotations

import logging

import pytest
from starlette.types import Message, Receive, Scope, Send

from opentoken.core.context import RequestIdFilter
from opentoken.http.middleware import RequestIdMiddleware


async def test_request_id_is_on_the_response_and_on_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("opentoken.test")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        log.warning("working on it")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    caplog.handler.addFilter(RequestIdFilter())
    scope: Scope = {"type": "http", "headers": [], "path": "/"}
    await RequestIdMiddleware(app)(scope, receive, send)
    request_id = scope["state"]["request_id"]
    assert (b"x-request-id", request_id.encode()) in sent[0]["headers"]
    (record,) = [r for r in caplog.records if r.getMessage() == "working on it"]
    assert record.request_id == request_id  # type: ignore[attr-defined]
