"""``POST /v1/chat/completions`` as a plain ASGI app: the gateway's hot path.

No Starlette ``Request``/``Response`` objects and no task group per stream: the body is read straight from
``receive``, the reply goes out as one or two ``send`` calls with pre-encoded headers, and a stream is
written frame by frame while one watcher task waits for the client to disconnect. A client that leaves
mid-stream cancels the handler (so the upstream read is cancelled at once and the pipeline meters the
partial usage) and the stream generator is closed; nothing is sent after that.

Errors raised before the response starts propagate to the app's exception handlers exactly as from a
Starlette endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from opentoken.core.errors import RequestTooLarge
from opentoken.pipeline import Pipeline

log = logging.getLogger("opentoken.http")
Headers = list[tuple[bytes, bytes]]
JSON_TYPE = (b"content-type", b"application/json")
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.", param="messages")


async def read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """The whole request body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            if not chunks:
                return bytes(chunk)
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def encode_headers(headers: Mapping[str, str]) -> Headers:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class ChatCompletions:
    """The ASGI app behind ``POST /v1/chat/completions``."""

    def __init__(self, pipeline: Pipeline, max_body_bytes: int) -> None:
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization: str | None = None
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        body = await read_body(receive, declared, self.max_body_bytes)
        reply = await self.pipeline.run(authorization, body, scope["state"]["request_id"])
        if reply.stream is None:
            headers = [JSON_TYPE, (b"content-length", b"%d" % len(reply.body)), *encode_headers(reply.headers)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body})
            return
        headers = [*SSE_HEADERS, *encode_headers(reply.headers)]
        await send_stream(reply.stream, headers, receive, send, reply.deadline, reply.stall_seconds)


async def send_stream(
    frames: AsyncIterator[bytes],
    headers: Headers,
    receive: Receive,
    send: Send,
    deadline: float | None = None,
    stall_seconds: float | None = None,
) -> None:
    """Send ``frames`` as a chunked 200 response; stop (and close ``frames``) when the client disconnects.

    Bounded for clients that stop reading: the stream ends at ``deadline`` (``time.monotonic()``) and when
    one frame cannot be handed to the connection within ``stall_seconds`` (the server stops taking frames
    once its write buffer is full, so what is held unsent is that buffer plus one frame). Closing ``frames``
    releases the request's concurrency slot; the connection is then closed without the final chunk.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = asyncio.Event()

    async def watch() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                task.cancel()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async with asyncio.timeout(None if deadline is None else deadline - time.monotonic()):
            async for frame in frames:
                async with asyncio.timeout(stall_seconds):
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except TimeoutError:
        log.info("stream ended early: past its deadline, or its client stopped reading for %s s", stall_seconds)
    except asyncio.CancelledError:
        if not gone.is_set():
            raise
        task.uncancel()  # we cancelled ourselves because the client left: there is nobody to answer
    finally:
        watcher.cancel()
        await _close(frames)


async def _close(frames: AsyncIterator[bytes]) -> None:
    aclose = getattr(frames, "aclose", None)
    if aclose is not None:
        await aclose()
