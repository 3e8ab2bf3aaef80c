"""``POST .../count_tokens`` as a plain ASGI app: authenticate, parse with the route's codec, count, render.

The count comes from the provider (``Pipeline.count_tokens``); errors are rendered by the codec, in its API's
shape, like every ingress route (``opentoken.http.endpoint``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

from starlette.types import Receive, Scope, Send

from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.http.endpoint import authenticated_body, request_headers, send_rendered
from opentoken.ingress.base import Rendered
from opentoken.pipeline import Pipeline
from opentoken.routing.counting import Counted

P = TypeVar("P")


class CountingCodec(Protocol[P]):
    def credentials(self, headers: Mapping[str, str]) -> str | None: ...
    def parse(self, body: bytes, headers: Mapping[str, str]) -> P: ...
    def request(self, parsed: P) -> ChatRequest: ...
    def count(self, parsed: P, counted: Counted, request_id: str) -> Rendered: ...
    def error(self, err: GatewayError, parsed: P | None, request_id: str | None = None) -> Rendered: ...


class CountEndpoint(Generic[P]):
    def __init__(self, codec: CountingCodec[P], pipeline: Pipeline, max_body_bytes: int) -> None:
        self.codec = codec
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        request_id: str = scope["state"]["request_id"]
        codec, parsed = self.codec, None
        try:
            credentials = codec.credentials(headers)
            key, body = await authenticated_body(self.pipeline, credentials, headers, receive, self.max_body_bytes)
            parsed = codec.parse(body, headers)
            counted = await self.pipeline.count_tokens(key, codec.request(parsed))
        except GatewayError as e:
            await send_rendered(send, codec.error(e, parsed, request_id))
            return
        await send_rendered(send, codec.count(parsed, counted, request_id))
