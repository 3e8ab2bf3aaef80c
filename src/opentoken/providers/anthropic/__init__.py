"""Anthropic Messages API adapter: pure translation between the canonical types and ``/v1/messages``.

``wire`` holds the typed wire models; ``request``/``messages`` map the request, ``response`` the reply
(usage map and finish-reason table), ``stream`` the SSE events, ``errors`` the error replies.
``PROVIDER`` is the one object the provider registry needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import ChatResult
from opentoken.providers.anthropic.errors import parse_error
from opentoken.providers.anthropic.request import build_request
from opentoken.providers.anthropic.response import parse_response
from opentoken.providers.anthropic.stream import AnthropicStreamDecoder
from opentoken.providers.base import Provider, UpstreamRequest


class AnthropicProvider:
    """Implements ``opentoken.providers.base.Provider`` for Anthropic (no state, no I/O)."""

    name = "anthropic"
    semconv_name = "anthropic"  # gen_ai.provider.name in OpenTelemetry
    default_base_url = "https://api.anthropic.com"
    key_env_vars: tuple[str, ...] = ("ANTHROPIC_API_KEY",)
    base_url_env_vars: tuple[str, ...] = ("ANTHROPIC_BASE_URL",)
    fetches_image_urls = True  # Anthropic downloads http(s) images itself (url image source)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return build_request(request, model)

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult:
        return parse_response(body, model)

    def stream_decoder(self, model: ModelInfo) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(model)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        return parse_error(status, headers, body)


PROVIDER: Provider = AnthropicProvider()

__all__ = ["PROVIDER", "AnthropicProvider", "AnthropicStreamDecoder"]
