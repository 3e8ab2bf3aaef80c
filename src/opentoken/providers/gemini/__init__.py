"""Google Gemini (generativelanguage v1beta ``generateContent``) adapter. Pure: no I/O.

Modules, in request-path order: ``contents`` and ``schema`` (used by ``request``), ``request``, ``response``,
``stream``, ``errors``; ``replay`` holds the thought-signature state kept between turns; ``wire`` the typed
wire models.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import ChatResult
from opentoken.providers.base import Provider, UpstreamRequest
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

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}  # never in the URL

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return build_request(request, model)

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult:
        return parse_response(body)

    def stream_decoder(self, model: ModelInfo) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        return parse_error(status, headers, body)


PROVIDER: Provider = GeminiProvider()

__all__ = ["PROVIDER", "GeminiProvider", "GeminiStreamDecoder"]
