"""A prototype: a lean HTTP/1.1 client (asyncio protocol + httptools) for the upstream hot path.

Not used by the gateway. ``bench.passthrough --client h1`` uses it, so the benchmark can show what the
upstream client costs against aiohttp's ``ClientSession`` (see docs/benchmarks.md, "What would close the
gaps"). It does what the gateway needs and no more: POST over pooled keep-alive connections, the response
read whole or chunk by chunk. Missing before it could replace aiohttp in ``opentoken.upstream.client``:
TLS (``loop.create_connection(ssl=...)`` plus SNI), read flow control (pause_reading above a high-water
mark), gzip, connect/idle timeouts (the caller's ``asyncio.timeout`` covers them today) and proxy support.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import httptools


class H1Error(Exception):
    """The connection failed or the reply was not valid HTTP/1.1."""


class H1Response:
    def __init__(self, conn: _Conn) -> None:
        self._conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter
        self._waiter = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; the connection goes back to the pool at the end."""
        while True:
            while self._chunks:
                yield self._chunks.popleft()
            if self._error is not None:
                raise H1Error(str(self._error)) from self._error
            if self._complete:
                return
            await self._wait()

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.chunks()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        """Drop the connection (a reply not read to the end cannot be reused)."""
        if not self._complete:
            self._conn.abort()


class _Conn(asyncio.Protocol):
    def __init__(self, pool: H1Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.response: H1Response | None = None
        self._headers_ready: asyncio.Future[None] | None = None
        self.reusable = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(e)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._pool.forget(self)
        if self.response is not None and not self.response._complete:
            self._fail(exc or ConnectionResetError("connection closed before the reply ended"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        self.response.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        assert self.response is not None and self._headers_ready is not None
        self.response.status = self._parser.get_status_code()
        if not self._headers_ready.done():
            self._headers_ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response._chunks.append(body)
        self.response._wake()

    def on_message_complete(self) -> None:
        response, self.response = self.response, None
        assert response is not None
        response._complete = True
        self.reusable = self._parser.should_keep_alive()
        self._parser = httptools.HttpResponseParser(self)
        if self.reusable:
            self._pool.put(self)
        elif self.transport is not None:
            self.transport.close()
        response._wake()

    def _fail(self, exc: BaseException) -> None:
        if self._headers_ready is not None and not self._headers_ready.done():
            self._headers_ready.set_exception(H1Error(str(exc)))
        if self.response is not None:
            self.response._error = exc
            self.response._wake()
        self.abort()

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    async def send(self, head: bytes, body: bytes) -> H1Response:
        assert self.transport is not None
        response = self.response = H1Response(self)  # the reply may be complete before we return
        self._headers_ready = asyncio.get_running_loop().create_future()
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        await self._headers_ready
        return response


class H1Pool:
    """Keep-alive connections to one host:port (plain TCP)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: deque[_Conn] = deque()
        self._host_header = f"host: {host}:{port}\r\n".encode()

    def put(self, conn: _Conn) -> None:
        self._idle.append(conn)

    def forget(self, conn: _Conn) -> None:
        if conn in self._idle:
            self._idle.remove(conn)

    async def _conn(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
        return conn

    async def post(self, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> H1Response:
        lines = [b"POST ", path.encode(), b" HTTP/1.1\r\n", self._host_header, b"content-length: %d\r\n" % len(body)]
        for name, value in headers:
            lines += [name, b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        conn = await self._conn()
        return await conn.send(b"".join(lines), body)

    def close(self) -> None:
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None:
                conn.transport.close()
