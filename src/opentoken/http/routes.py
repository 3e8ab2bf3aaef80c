"""The public routes: OpenAI Chat Completions and Anthropic Messages, models, the key's own view, health.

``GET /v1/models`` and ``GET /v1/models/{id}`` answer in Anthropic's shape (and errors in Anthropic's error
shape) when the request carries ``anthropic-version``, in OpenAI's otherwise; both take ``x-api-key`` or
``Authorization: Bearer``. ``HEAD /`` answers 200 (Claude Code probes it at start).
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.admin.schema import encode
from opentoken.admin.service import AdminServices
from opentoken.core.errors import GatewayError, NotFound
from opentoken.http.count import CountEndpoint
from opentoken.http.endpoint import IngressEndpoint
from opentoken.ingress.anthropic_messages import models as anthropic_models
from opentoken.ingress.anthropic_messages.codec import AnthropicMessagesCodec, bearer
from opentoken.ingress.openai.models import model_json, models_json
from opentoken.ingress.openai_chat.codec import OpenAIChatCodec
from opentoken.pipeline import Pipeline

JSON = "application/json"


def public_routes(pipeline: Pipeline, max_body_bytes: int, admin: AdminServices) -> list[BaseRoute]:
    anthropic = AnthropicMessagesCodec()

    async def anthropic_models_route(request: Request) -> Response:
        request_id = request.scope["state"]["request_id"]
        try:
            key = await pipeline.authenticator.authenticate(bearer(request.headers))
            allowed = [m for m in pipeline.catalog if key.allows(m.id)]
            model_id = request.path_params.get("model_id")
            if model_id is None:
                return Response(anthropic_models.page_json(allowed, request.query_params), media_type=JSON)
            model = pipeline.catalog.resolve(unquote(model_id))
            if not key.allows(model.id):
                raise NotFound(f"model: `{model_id}` does not exist or you do not have access to it.")
            return Response(anthropic_models.model_json(model), media_type=JSON)
        except GatewayError as e:
            out = anthropic.error(e, None, request_id)
            return Response(out.body, status_code=out.status, headers=out.headers, media_type=JSON)

    async def list_models(request: Request) -> Response:
        if "anthropic-version" in request.headers:
            return await anthropic_models_route(request)
        key = await pipeline.authenticator.authenticate(bearer(request.headers))
        return Response(models_json([m for m in pipeline.catalog if key.allows(m.id)]), media_type=JSON)

    async def get_model(request: Request) -> Response:
        if "anthropic-version" in request.headers:
            return await anthropic_models_route(request)
        key = await pipeline.authenticator.authenticate(bearer(request.headers))
        model_id = unquote(request.path_params["model_id"])
        model = pipeline.catalog.get(model_id)
        if model is None or not key.allows(model.id):
            raise NotFound(
                f"The model `{model_id}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return Response(model_json(model), media_type=JSON)

    async def own_key(request: Request) -> Response:
        """The calling key's own limits, spend in the current budget period and remaining budget."""
        key = await pipeline.authenticator.authenticate(request.headers.get("authorization"))
        return Response(encode(await admin.key_detail(key.id)), media_type=JSON)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    async def root_probe(request: Request) -> Response:
        return Response(b"", media_type=JSON)

    return [
        # plain ASGI apps (the hot path: see opentoken.http.endpoint)
        Route("/v1/chat/completions", IngressEndpoint(OpenAIChatCodec(), pipeline, max_body_bytes), methods=["POST"]),
        Route("/v1/messages", IngressEndpoint(anthropic, pipeline, max_body_bytes), methods=["POST"]),
        Route(
            "/v1/messages/count_tokens",
            CountEndpoint(AnthropicMessagesCodec(counting=True), pipeline, max_body_bytes),
            methods=["POST"],
        ),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/v1/key", own_key, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/", root_probe, methods=["HEAD"]),
    ]
