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
from opentoken.http.endpoint import read_body, send_rendered
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
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        request_id: str = scope["state"]["request_id"]
        codec, parsed = self.codec, None
        try:
            key = await self.pipeline.authenticator.authenticate(codec.credentials(headers))
            body = await read_body(receive, headers.get("content-length"), self.max_body_bytes)
            parsed = codec.parse(body, headers)
            counted = await self.pipeline.count_tokens(key, codec.request(parsed))
        except GatewayError as e:
            await send_rendered(send, codec.error(e, parsed, request_id))
            return
        await send_rendered(send, codec.count(parsed, counted, request_id))
