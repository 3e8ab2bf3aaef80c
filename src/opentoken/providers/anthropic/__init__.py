"""Anthropic Messages API adapter: pure translation between the canonical types and ``/v1/messages``.

``wire`` holds the typed wire models; ``request``/``messages`` map the request, ``response`` the reply
(usage map and finish-reason table), ``stream`` the SSE events, ``errors`` the error replies; ``native``
the pass-through of Messages API clients and token counting.
``PROVIDER`` is the one object the provider registry needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, NativeRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import ChatResult
from opentoken.providers.anthropic import models, native
from opentoken.providers.anthropic.errors import parse_error
from opentoken.providers.anthropic.request import build_request
from opentoken.providers.anthropic.response import parse_response
from opentoken.providers.anthropic.stream import AnthropicStreamDecoder
from opentoken.providers.base import ModelPage, Provider, UpstreamRequest


class AnthropicProvider:
    """Implements ``opentoken.providers.base.Provider`` for Anthropic (no state, no I/O)."""

    name = "anthropic"
    semconv_name = "anthropic"  # gen_ai.provider.name in OpenTelemetry
    default_base_url = "https://api.anthropic.com"
    key_env_vars: tuple[str, ...] = ("ANTHROPIC_API_KEY",)
    # not ANTHROPIC_BASE_URL: Anthropic clients (Claude Code) set it to point at this gateway, which would then
    # call itself; the gateway's own upstream is OPENTOKEN_ANTHROPIC_BASE_URL
    base_url_env_vars: tuple[str, ...] = ()
    fetches_image_urls = True  # Anthropic downloads http(s) images itself (url image source)
    native_api: str | None = native.NATIVE_API  # Messages API clients are passed through (see ``native``)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return build_request(request, model)

    def build_native(self, request: NativeRequest, stream: bool, model: ModelInfo) -> UpstreamRequest:
        return native.build_native(request, stream, model)

    def build_count(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        return native.build_count(request, model)

    def parse_count(self, body: bytes) -> int:
        return native.parse_count(body)

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult:
        return parse_response(body, model)

    def stream_decoder(self, model: ModelInfo) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(model)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        return parse_error(status, headers, body)

    def model_list_request(self, cursor: str | None) -> UpstreamRequest:
        return models.model_list_request(cursor)

    def parse_model_list(self, body: bytes) -> ModelPage:
        return models.parse_model_list(body)


PROVIDER: Provider = AnthropicProvider()

__all__ = ["PROVIDER", "AnthropicProvider", "AnthropicStreamDecoder"]
