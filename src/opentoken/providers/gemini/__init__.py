"""Google Gemini (generativelanguage v1beta ``generateContent``) adapter. Pure: no I/O.

Modules, in request-path order: ``contents`` and ``schema`` (used by ``request``), ``request``, ``response``,
``stream``, ``errors``, ``count`` (countTokens); ``replay`` holds the thought-signature state kept between turns; ``wire`` the typed
wire models.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, NativeRequest
from opentoken.core.embed import EmbedRequest
from opentoken.core.errors import GatewayError, UnsupportedParameter
from opentoken.core.result import ChatResult
from opentoken.providers.base import EmbedBatch, Embedder, ModelPage, Provider, UpstreamRequest
from opentoken.providers.gemini import count, embed, models
from opentoken.providers.gemini.errors import parse_error
from opentoken.providers.gemini.request import build_request
from opentoken.providers.gemini.response import parse_response
from opentoken.providers.gemini.stream import GeminiStreamDecoder


class GeminiProvider:
    """The ``opentoken.providers.base.Provider`` for Google Gemini (model ids ``google/...``)."""

    name = "google"
    semconv_name = "gcp.gemini"  # gen_ai.provider.name in OpenTelemetry
    default_base_url = "https://generativelanguage.googleapis.com"
    key_env_vars: tuple[str, ...] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env_vars: tuple[str, ...] = ("OPENTOKEN_GEMINI_BASE_URL",)
    fetches_image_urls = False  # the Gemini Developer API takes only inline image bytes
    native_api: str | None = None  # no client API is passed through: every request is translated

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}  # never in the URL

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return build_request(request, model)

    def build_native(self, request: NativeRequest, stream: bool, model: ModelInfo) -> UpstreamRequest:
        raise UnsupportedParameter(f"{model.id} takes no {request.api} request as is.")

    def build_count(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return count.build_count(request, model)

    def parse_count(self, body: bytes) -> int:
        return count.parse_count(body)

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult:
        return parse_response(body)

    def stream_decoder(self, model: ModelInfo) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        return parse_error(status, headers, body)

    def model_list_request(self, cursor: str | None) -> UpstreamRequest:
        return models.model_list_request(cursor)

    def parse_model_list(self, body: bytes) -> ModelPage:
        return models.parse_model_list(body)


class GeminiEmbedder:
    """The ``opentoken.providers.base.Embedder`` for Gemini embedding models (``batchEmbedContents``)."""

    name = "google"

    def embed_requests(self, request: EmbedRequest, model: ModelInfo) -> list[EmbedBatch]:
        return embed.embed_requests(request, model)

    def parse_embeddings(self, body: bytes, expected: int) -> list[tuple[float, ...]]:
        return embed.parse_embeddings(body, expected)

    def count_request(self, request: EmbedRequest, model: ModelInfo) -> UpstreamRequest:
        return embed.count_request(request, model)

    def parse_count(self, body: bytes) -> int:
        return embed.parse_count(body)


PROVIDER: Provider = GeminiProvider()
EMBEDDER: Embedder = GeminiEmbedder()

__all__ = ["EMBEDDER", "PROVIDER", "GeminiEmbedder", "GeminiProvider", "GeminiStreamDecoder"]
