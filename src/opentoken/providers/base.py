"""The narrow interface every provider adapter implements. Pure: bytes and typed values in and out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import GatewayError
from opentoken.core.result import ChatResult, StreamEvent


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event as read off the wire (``event:`` name if any, joined ``data:`` lines)."""

    data: str
    event: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """What to send: ``path`` (with query) is appended to the deployment's base URL. Credentials are added
    by the upstream layer through ``Provider.auth_headers``."""

    path: str
    body: bytes
    headers: Mapping[str, str]
    stream: bool
    adjusted: tuple[str, ...] = ()  # OpenAI params the adapter changed or dropped (reported to the client)


class StreamDecoder(Protocol):
    """Small state object fed one upstream SSE event at a time.

    ``feed`` returns the canonical events for that upstream event (often none) and raises a
    ``GatewayError`` for an in-stream error event. ``close`` is called at upstream EOF and returns any final
    events (or raises ``UpstreamProtocolError`` for a stream cut short where that can be told).
    """

    def feed(self, event: SSEEvent) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]: ...


class Provider(Protocol):
    name: str  # the "{provider}" part of model ids
    semconv_name: str  # its ``gen_ai.provider.name`` in the OpenTelemetry GenAI conventions
    default_base_url: str
    key_env_vars: tuple[str, ...]  # environment variables that may hold the provider API key, in order
    base_url_env_vars: tuple[str, ...]  # extra variables for the base URL (OPENTOKEN_{NAME}_BASE_URL always works)
    fetches_image_urls: bool  # False: the gateway must download http(s) images and send them inline

    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        """Map the canonical request; raise InvalidRequest/UnsupportedParameter naming the OpenAI ``param``."""
        ...

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult: ...

    def stream_decoder(self, model: ModelInfo) -> StreamDecoder: ...

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        """Map an upstream HTTP error reply onto the GatewayError tree (never leaking credentials)."""
        ...
