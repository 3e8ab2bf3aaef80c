"""The endpoint of every ingress, as a plain ASGI app: the gateway's hot path.

``IngressEndpoint(codec, ...)`` serves one wire API's route: it authenticates the caller before reading the
body, reads the body (refused as soon as it is known to be too large), has the codec parse it, runs the
pipeline, and sends what the codec renders, errors included (so each route answers errors in its own API's
shape). No Starlette ``Request``/``Response`` objects and no task group per stream: the reply goes out as one
or two ``send`` calls with pre-encoded headers, and a stream is written frame by frame while the server's
disconnect hook (or, on a server without one, a watcher task) waits for the client to leave. A client that
leaves mid-stream cancels the handler (so the upstream read is cancelled at once and the pipeline meters the
partial usage) and the stream is closed; nothing is sent after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Generic, TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from opentoken.core.errors import GatewayError, RequestTooLarge
from opentoken.core.watchdog import Watchdog
from opentoken.http.coalesce import send_coalesced
from opentoken.http.disconnect import OnDisconnect, disconnect_hook
from opentoken.ingress.base import Codec, Rendered
from opentoken.outcome import Call, Completed
from opentoken.pipeline import Pipeline
from opentoken.stores.base import ApiKey

log = logging.getLogger("opentoken.http")
P = TypeVar("P")

Headers = list[tuple[bytes, bytes]]
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.", param="messages")


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
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


class RequestHeaders(Mapping[str, str]):
    """The request's headers by lower-case name, decoded when looked up: the hot path reads two or three of
    the dozen a client sends. (The server lower-cases names; a repeated header keeps its last value.)"""

    __slots__ = ("_raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = dict(raw)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        value = self._raw.get(name.encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.encode("latin-1") in self._raw

    def __iter__(self) -> Iterator[str]:
        return (name.decode("latin-1") for name in self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def request_headers(scope: Scope) -> RequestHeaders:
    return RequestHeaders(scope["headers"])


async def authenticated_body(
    pipeline: Pipeline, credentials: str | None, headers: Mapping[str, str], receive: Receive, limit: int
) -> tuple[ApiKey, bytes]:
    """The caller's key, checked before a byte of the body is read, then the body (at most ``limit`` bytes)."""
    key = await pipeline.authenticator.authenticate(credentials)
    return key, await read_body(receive, headers.get("content-length"), limit)


class IngressEndpoint(Generic[P]):
    """The ASGI app behind one ingress route (``POST /v1/chat/completions``, ...)."""

    def __init__(self, codec: Codec[P], pipeline: Pipeline, max_body_bytes: int) -> None:
        self.codec = codec
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        request_id: str = scope["state"]["request_id"]
        try:
            credentials = self.codec.credentials(headers)
            key, body = await authenticated_body(self.pipeline, credentials, headers, receive, self.max_body_bytes)
        except GatewayError as e:
            await send_rendered(send, self.codec.error(e, None, request_id))
            return
        await self.respond(key, body, request_id, receive, send, headers, disconnect_hook(scope))

    async def respond(
        self,
        key: ApiKey,
        body: bytes,
        request_id: str,
        receive: Receive,
        send: Send,
        headers: Mapping[str, str] | None = None,
        on_disconnect: OnDisconnect | None = None,
    ) -> None:
        """Serve ``body`` for ``key`` (already authenticated: the console's playground holds its key record).
        ``on_disconnect``: the server's disconnect hook (``opentoken.http.disconnect``), if it has one."""
        codec, parsed = self.codec, None
        try:
            parsed = await self.prepare(key, codec.parse(body, headers or {}))
            call = Call(request_id, len(body) + self.context_bytes(parsed), codec.name, codec.ignored(parsed))
            outcome = await self.pipeline.execute(key, codec.request(parsed), call)
            if isinstance(outcome, Completed):
                reply = await self.render(parsed, outcome, request_id)
        except GatewayError as e:
            if e.status >= 500:
                log.warning("request %s failed: %r", request_id, e)
            await send_rendered(send, codec.error(e, parsed, request_id))
            return
        if isinstance(outcome, Completed):
            await send_rendered(send, reply)
            return
        try:
            frames = codec.stream(parsed, outcome, request_id)
            stall = self.pipeline.stream_stall_seconds
            await send_stream(
                frames,
                [*SSE_HEADERS, *encode_headers(codec.headers(parsed, outcome.served))],  # held by send_stream only
                receive,
                send,
                outcome.deadline,
                stall,
                on_disconnect,
            )
        finally:
            await outcome.aclose()

    # ---- hooks for ingresses that keep state between calls (``http.responses``); plain codecs need none ----

    async def prepare(self, key: ApiKey, parsed: P) -> P:
        """Complete a parsed request with what needs the caller or I/O (a stored conversation)."""
        return parsed

    def context_bytes(self, parsed: P) -> int:
        """Bytes of prompt the request brings in besides its body (a stored conversation), for admission."""
        return 0

    async def render(self, parsed: P, done: Completed, request_id: str) -> Rendered:
        """The reply to a completed call (an ingress that stores replies does it here, before it is sent)."""
        return self.codec.render(parsed, done, request_id)


async def send_rendered(send: Send, reply: Rendered) -> None:
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", b"%d" % len(reply.body)),
        *encode_headers(reply.headers),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def send_stream(
    frames: AsyncIterator[bytes],
    headers: Headers,
    receive: Receive,
    send: Send,
    deadline: float | None = None,
    stall_seconds: float | None = None,
    on_disconnect: OnDisconnect | None = None,
) -> None:
    """Send ``frames`` as a chunked 200 response; stop (and close ``frames``) when the client disconnects.

    Bounded for clients that stop reading: the stream ends at ``deadline`` (``time.monotonic()``) and when
    one frame cannot be handed to the connection within ``stall_seconds`` (the server stops taking frames
    once its write buffer is full, so what is held unsent is that buffer plus one read's frames). The frames
    made from one upstream read go out in one ``send`` (``http.coalesce``). Closing ``frames``
    releases the request's concurrency slot; the connection is then closed without the final chunk.

    The disconnect is heard through ``on_disconnect``, the server's hook, when there is one, else by a
    watcher task reading ``receive``. Nothing of the response head is kept once it is sent: a stream can
    last minutes, and a gateway holds thousands of them.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False

    def lost() -> None:
        nonlocal gone
        gone = True
        task.cancel()

    async def watch() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                lost()
                return

    watcher = asyncio.get_running_loop().create_task(watch()) if on_disconnect is None else None
    try:
        start = {"type": "http.response.start", "status": 200, "headers": headers}
        del headers
        await send(start)  # (the lane's own watch on the hook ends here: the hook is free for this one)
        del start
        if on_disconnect is not None and not on_disconnect(lost, True):
            return  # the client has already left: nobody to answer
        async with asyncio.timeout(None if deadline is None else deadline - time.monotonic()):
            stalled = Watchdog().bound(stall_seconds)  # one timer per stream, not one per send

            async def send_body(body: bytes) -> None:
                with stalled:
                    await send({"type": "http.response.body", "body": body, "more_body": True})

            try:
                await send_coalesced(frames, send_body)
            finally:
                stalled.close()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except TimeoutError:
        log.info("stream ended early: past its deadline, or its client stopped reading for %s s", stall_seconds)
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()  # we cancelled ourselves because the client left: there is nobody to answer
    finally:
        if watcher is not None:
            watcher.cancel()
        elif on_disconnect is not None:
            on_disconnect(lost, False)
        await _close(frames)


async def _close(frames: AsyncIterator[bytes]) -> None:
    aclose = getattr(frames, "aclose", None)
    if aclose is not None:
        await aclose()
