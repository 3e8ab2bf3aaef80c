"""The narrow interface every provider adapter implements. Pure: bytes and typed values in and out.

Pass-through: a provider whose ``native_api`` names the wire API a client spoke (``ChatRequest.native``)
builds its upstream request from the client's own body (``build_native``) instead of the canonical request,
and marks it ``native``; the routing layer then keeps the reply as it came next to the canonical result (see
``core.result.NativeFrame``). ``upstream_request`` is the one place that choice is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, NativeRequest
from opentoken.core.embed import EmbedRequest
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
    adjusted: tuple[str, ...] = ()  # canonical fields the adapter changed or dropped (reported to the client)
    native: bool = False  # the body is the client's own (pass-through): its reply is relayed as it came


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One model of a provider's own model list (``GET /v1/models``, ``models.list``), as far as it says."""

    id: str  # the provider's model id, as sent in requests
    display_name: str = ""
    created: int | None = None  # unix seconds
    context_window: int | None = None
    max_output_tokens: int | None = None
    generates_text: bool = True  # False for models the chat path cannot call (embeddings, ...)
    thinking: bool | None = None


@dataclass(frozen=True, slots=True)
class ModelPage:
    models: tuple[ListedModel, ...]
    next_cursor: str | None = None  # None: this was the last page


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
    native_api: str | None  # the client wire API this provider takes as is (``NativeRequest.api``), if any

    def auth_headers(self, api_key: str) -> dict[str, str]: ...

    def build_request(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        """Map the canonical request; raise InvalidRequest/UnsupportedParameter naming the OpenAI ``param``."""
        ...

    def build_native(self, native: NativeRequest, stream: bool, model: ModelInfo) -> UpstreamRequest:
        """The client's own request for ``model`` (only the model id mapped); called when ``native.api`` is
        this provider's ``native_api``. Raise ``InvalidRequest`` when the body cannot be sent."""
        ...

    def build_count(self, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
        """A request to the provider's token-counting endpoint for the prompt of ``request`` (pass-through
        when ``request.native`` is in this provider's ``native_api``)."""
        ...

    def parse_count(self, body: bytes) -> int:
        """The input token count from the counting endpoint's reply."""
        ...

    def parse_response(self, body: bytes, model: ModelInfo) -> ChatResult: ...

    def stream_decoder(self, model: ModelInfo) -> StreamDecoder: ...

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
        """Map an upstream HTTP error reply onto the GatewayError tree (never leaking credentials)."""
        ...

    def model_list_request(self, cursor: str | None) -> UpstreamRequest:
        """A GET of one page of the provider's model list (``cursor``: from the previous ``ModelPage``)."""
        ...

    def parse_model_list(self, body: bytes) -> ModelPage:
        """Parse one page of the model list; an unreadable one raises ``UpstreamProtocolError``."""
        ...


def speaks_native(provider: Provider, request: ChatRequest) -> bool:
    """Whether ``provider`` takes the client's own request (``request.native``) as is."""
    return request.native is not None and request.native.api == provider.native_api


def upstream_request(provider: Provider, request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
    """The upstream request for ``model``: the client's own body where the provider speaks its wire API,
    else the canonical request translated."""
    if request.native is not None and speaks_native(provider, request):
        return provider.build_native(request.native, request.stream, model)
    return provider.build_request(request, model)


@dataclass(frozen=True, slots=True)
class EmbedBatch:
    """One upstream embedding request and how many of the inputs (the next ones, in order) it carries."""

    request: UpstreamRequest
    count: int


class Embedder(Protocol):
    """A provider's embedding models (optional: registered in ``providers.registry.embedders``). Pure."""

    name: str  # the provider's name, as in ``Provider.name``

    def embed_requests(self, request: EmbedRequest, model: ModelInfo) -> list[EmbedBatch]:
        """The upstream requests for every input, in order, each within the provider's per-request limit."""
        ...

    def parse_embeddings(self, body: bytes, expected: int) -> list[tuple[float, ...]]:
        """The unit vectors of one reply (``expected`` of them, in request order)."""
        ...

    def count_request(self, request: EmbedRequest, model: ModelInfo) -> UpstreamRequest:
        """The provider's token-counting call for the inputs (embedding replies carry no usage)."""
        ...

    def parse_count(self, body: bytes) -> int: ...
