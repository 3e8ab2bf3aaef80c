"""The public OpenAI-compatible routes."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.admin.schema import encode
from opentoken.admin.service import AdminServices
from opentoken.core.errors import NotFound
from opentoken.http.endpoint import IngressEndpoint
from opentoken.ingress.openai.models import model_json, models_json
from opentoken.ingress.openai_chat.codec import OpenAIChatCodec
from opentoken.pipeline import Pipeline

JSON = "application/json"


def public_routes(pipeline: Pipeline, max_body_bytes: int, admin: AdminServices) -> list[BaseRoute]:
    async def list_models(request: Request) -> Response:
        key = await pipeline.authenticator.authenticate(request.headers.get("authorization"))
        return Response(models_json([m for m in pipeline.catalog if key.allows(m.id)]), media_type=JSON)

    async def get_model(request: Request) -> Response:
        key = await pipeline.authenticator.authenticate(request.headers.get("authorization"))
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

    return [
        # plain ASGI apps (the hot path: see opentoken.http.endpoint)
        Route("/v1/chat/completions", IngressEndpoint(OpenAIChatCodec(), pipeline, max_body_bytes), methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/v1/key", own_key, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
