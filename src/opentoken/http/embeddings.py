"""``POST /v1/embeddings``: authenticate, read the body (capped), parse, ``Pipeline.embed``, render."""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from opentoken.core.errors import GatewayError
from opentoken.http.endpoint import authenticated_body, request_headers, send_rendered
from opentoken.ingress.openai_embeddings.codec import ParsedEmbedding, parse_body, render, render_error
from opentoken.outcome import Call
from opentoken.pipeline import Pipeline

log = logging.getLogger("opentoken.http")
INGRESS = "openai_embeddings"


class EmbeddingsEndpoint:
    def __init__(self, pipeline: Pipeline, max_body_bytes: int) -> None:
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        request_id: str = scope["state"]["request_id"]
        parsed: ParsedEmbedding | None = None
        try:
            credentials = headers.get("authorization")
            key, body = await authenticated_body(self.pipeline, credentials, headers, receive, self.max_body_bytes)
            parsed = parse_body(body)
            call = Call(request_id, len(body), INGRESS, parsed.ignored)
            done = await self.pipeline.embed(key, parsed.request, call)
        except GatewayError as e:
            if e.status >= 500:
                log.warning("request %s failed: %r", request_id, e)
            await send_rendered(send, render_error(e, parsed))
            return
        await send_rendered(send, render(parsed, done.result, done.served, done.cost))


def embeddings_routes(pipeline: Pipeline, max_body_bytes: int) -> list[BaseRoute]:
    return [Route("/v1/embeddings", EmbeddingsEndpoint(pipeline, max_body_bytes), methods=["POST"])]
