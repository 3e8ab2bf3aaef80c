"""Pass-through and token counting for Anthropic: the client's own Messages request, sent as it came.

- ``build_native``: a client that speaks the Messages API (``NativeRequest.api == NATIVE_API``) has its body
  sent to ``/v1/messages`` unchanged but for ``model`` (the catalog's upstream id); everything else
  (``cache_control`` and its ``ttl``, thinking blocks and signatures, ``output_config``,
  ``context_management``, server tools, documents, citations, fields newer than this gateway) reaches
  Anthropic as the client wrote it. ``anthropic-version`` and ``anthropic-beta`` are forwarded; the
  gateway's key replaces the client's (``Provider.auth_headers``).
- ``build_count``: ``POST /v1/messages/count_tokens``, from the client's own counting body on a
  pass-through, else from the canonical request (the fields the counting endpoint takes).
- ``parse_count``: ``{"input_tokens": N}``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
import orjson

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, NativeRequest
from opentoken.core.errors import InvalidRequest, UpstreamProtocolError
from opentoken.providers.anthropic.request import ANTHROPIC_VERSION, MESSAGES_PATH, build_request
from opentoken.providers.base import UpstreamRequest

NATIVE_API = "anthropic_messages"  # the name of the Messages API ingress (``ingress/anthropic_messages``)
COUNT_PATH = "/v1/messages/count_tokens"
FORWARDED_HEADERS = frozenset({"anthropic-version", "anthropic-beta"})
_COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


class _Count(msgspec.Struct):
    input_tokens: int


def _body(native: NativeRequest, model: ModelInfo) -> bytes:
    try:
        body: Any = orjson.loads(native.body)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest("The request body is not valid JSON.") from e
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    body["model"] = model.upstream_model
    return orjson.dumps(body)


def _headers(native: NativeRequest, accept: str) -> dict[str, str]:
    headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json", "accept": accept}
    headers.update((name, value) for name, value in native.headers if name in FORWARDED_HEADERS)
    return headers


def build_native(native: NativeRequest, stream: bool, model: ModelInfo) -> UpstreamRequest:
    accept = "text/event-stream" if stream else "application/json"
    return UpstreamRequest(
        path=MESSAGES_PATH, body=_body(native, model), headers=_headers(native, accept), stream=stream, native=True
    )


def build_count(request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
    native = request.native
    if native is not None and native.api == NATIVE_API:
        return UpstreamRequest(
            path=COUNT_PATH, body=_body(native, model), headers=_headers(native, "application/json"), stream=False
        )
    built = build_request(replace(request, stream=False), model)
    full: dict[str, Any] = orjson.loads(built.body)
    body = {name: full[name] for name in _COUNTED_FIELDS if name in full}
    return UpstreamRequest(path=COUNT_PATH, body=orjson.dumps(body), headers=built.headers, stream=False)


def parse_count(body: bytes) -> int:
    try:
        return msgspec.json.decode(body, type=_Count).input_tokens
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpstreamProtocolError(f"Anthropic sent a token count the gateway could not read: {e}") from e
