"""An httpx transport that records every raw response body the gateway sends, for schema validation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx2 as httpx


@dataclass
class Exchange:
    path: str
    status: int
    content_type: str
    headers: httpx.Headers
    body: bytes = b""


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)


class _TeeStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange
        self._chunks: list[bytes] = []

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._chunks.append(chunk)
            yield chunk

    def close(self) -> None:
        self._exchange.body = b"".join(self._chunks)
        self._inner.close()


class RecordingTransport(httpx.BaseTransport):
    def __init__(self, recorder: Recorder) -> None:
        self._inner = httpx.HTTPTransport()
        self._recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self._inner.handle_request(request)
        exchange = Exchange(
            path=request.url.path,
            status=resp.status_code,
            content_type=resp.headers.get("content-type", ""),
            headers=resp.headers,
        )
        self._recorder.exchanges.append(exchange)
        assert isinstance(resp.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=resp.status_code,
            headers=resp.headers,
            stream=_TeeStream(resp.stream, exchange),
            extensions=resp.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()
