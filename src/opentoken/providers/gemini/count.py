"""Gemini ``countTokens``: the prompt of a canonical request counted by the model that would answer it.

``POST /v1beta/models/{model}:countTokens`` with ``{"generateContentRequest": {...}}``: the same contents,
system instruction, tools and generation config a generation would send (``request.build_request``), so the
count includes everything Gemini counts. The reply's ``totalTokens`` is the input token count.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
import orjson

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import UpstreamProtocolError
from opentoken.providers.base import UpstreamRequest
from opentoken.providers.gemini.request import build_request


class _CountReply(msgspec.Struct, rename="camel"):
    total_tokens: int


def build_count(request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
    built = build_request(replace(request, stream=False), model)
    inner: dict[str, Any] = orjson.loads(built.body)
    inner["model"] = f"models/{model.upstream_model}"
    return UpstreamRequest(
        path=f"/v1beta/models/{model.upstream_model}:countTokens",
        body=orjson.dumps({"generateContentRequest": inner}),
        headers={"content-type": "application/json"},
        stream=False,
        adjusted=built.adjusted,
    )


def parse_count(body: bytes) -> int:
    try:
        reply = msgspec.json.decode(body, type=_CountReply)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpstreamProtocolError(f"Gemini sent a token count the gateway could not read: {e}") from e
    return reply.total_tokens
