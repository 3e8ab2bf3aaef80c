"""The OpenAI Responses routes: ``POST /v1/responses`` and the stored responses of the calling key.

``ResponsesEndpoint`` is the ingress endpoint with the Responses codec's two stateful steps plugged into its
hooks: ``prepare`` (the stored conversation of ``previous_response_id`` and the key-bound opener of sealed
reasoning state) and ``render`` (store the response, ``store: true``, before the reply is sent, so the next
request from any replica finds it). ``GET /v1/responses/{id}``, ``GET .../input_items`` and
``DELETE /v1/responses/{id}`` read and delete only what the calling key stored.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.core.errors import InvalidRequest, NotFound
from opentoken.http.endpoint import IngressEndpoint
from opentoken.ingress.base import Rendered
from opentoken.ingress.openai_responses.codec import OpenAIResponsesCodec
from opentoken.ingress.openai_responses.parse import ParsedResponse
from opentoken.outcome import Completed
from opentoken.pipeline import Pipeline
from opentoken.stores.base import ApiKey
from opentoken.stores.responses import StoredResponse

JSON = "application/json"
MAX_LIST = 100


class ResponsesEndpoint(IngressEndpoint[ParsedResponse]):
    codec: OpenAIResponsesCodec

    def __init__(self, codec: OpenAIResponsesCodec, pipeline: Pipeline, max_body_bytes: int) -> None:
        super().__init__(codec, pipeline, max_body_bytes)
        self.codec = codec

    async def prepare(self, key: ApiKey, parsed: ParsedResponse) -> ParsedResponse:
        return await self.codec.prepare(parsed, key.id)

    def context_bytes(self, parsed: ParsedResponse) -> int:
        return parsed.history_bytes

    async def render(self, parsed: ParsedResponse, done: Completed, request_id: str) -> Rendered:
        return await self.codec.complete(parsed, done, request_id)


def _list_params(request: Request) -> tuple[int, str, str | None]:
    raw_limit = request.query_params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIST}.", param="limit")
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest("order must be 'asc' or 'desc'.", param="order")
    return int(raw_limit), order, request.query_params.get("after")


def item_page(items: list[dict[str, Any]], limit: int, order: str, after: str | None) -> dict[str, Any]:
    ordered = items if order == "asc" else list(reversed(items))
    if after is not None:
        ids = [str(item.get("id")) for item in ordered]
        if after not in ids:
            raise InvalidRequest(f"No input item with id '{after}' in this response.", param="after")
        ordered = ordered[ids.index(after) + 1 :]
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "has_more": len(ordered) > limit,
        "first_id": str(page[0]["id"]) if page else "",
        "last_id": str(page[-1]["id"]) if page else "",
    }


def responses_routes(codec: OpenAIResponsesCodec, pipeline: Pipeline, max_body_bytes: int) -> list[BaseRoute]:
    store = codec.store

    async def stored(request: Request) -> StoredResponse:
        key = await pipeline.authenticator.authenticate(request.headers.get("authorization"))
        response_id = request.path_params["response_id"]
        found = await store.get(key.id, response_id)
        if found is None:
            raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
        return found

    async def get_response(request: Request) -> Response:
        return Response((await stored(request)).response, media_type=JSON)

    async def input_items(request: Request) -> Response:
        found = await stored(request)
        limit, order, after = _list_params(request)
        page = item_page(orjson.loads(found.input_items), limit, order, after)
        return Response(orjson.dumps(page), media_type=JSON)

    async def delete_response(request: Request) -> Response:
        key = await pipeline.authenticator.authenticate(request.headers.get("authorization"))
        response_id = request.path_params["response_id"]
        if not await store.delete(key.id, response_id):
            raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
        body = {"id": response_id, "object": "response", "deleted": True}
        return Response(orjson.dumps(body), media_type=JSON)

    return [
        Route("/v1/responses", ResponsesEndpoint(codec, pipeline, max_body_bytes), methods=["POST"]),
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", input_items, methods=["GET"]),
    ]
