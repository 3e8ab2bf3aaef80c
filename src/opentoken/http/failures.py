"""The last resort for a bug: an unexpected exception becomes an OpenAI-shaped 500 that carries the
request's ``x-request-id`` and ``Connection: close``, so a keep-alive client is told the connection ends
instead of finding it dropped under its next request.

It sits inside ``RequestIdMiddleware`` (so the id is added) and outside everything else. The exception is
logged with its traceback and not re-raised: the response is complete, and uvicorn closes the connection
after it because of the header. A failure after the response started cannot be answered any more; it is
re-raised, and the server closes the connection (a truncated body is then visible as such to the client).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opentoken.ingress.openai.errors import error_json

log = logging.getLogger("opentoken.http")
BODY = error_json("The gateway hit an internal error. It has been logged.", "server_error", None, "internal_error")


class InternalErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ClientDisconnect:
            return  # the client left while its body was read: nobody to answer
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await answer_internal_error(send)


HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY)), (b"connection", b"close")]


async def answer_internal_error(send: Send) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": list(HEADERS)})
    await send({"type": "http.response.body", "body": BODY})
