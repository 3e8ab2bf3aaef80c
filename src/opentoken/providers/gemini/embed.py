"""Canonical ``EmbedRequest`` -> Gemini ``batchEmbedContents`` requests, replies -> vectors; token counting.

- Inputs go in batches of at most ``MAX_BATCH`` (the API's limit per request), in order; each input is one
  ``EmbedContentRequest`` (``model``, ``content`` with one text part, ``outputDimensionality`` when asked).
- A vector shorter than the model's full size is the prefix of the full one and is not normalised by
  Gemini, so every vector is re-normalised to unit length here (a full-size one is already unit length).
- Embedding replies carry no token usage: ``count_request`` builds the ``countTokens`` call for the same
  inputs (one content per input), whose ``totalTokens`` is the usage.
"""

from __future__ import annotations

import math

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.embed import EmbedRequest
from opentoken.core.errors import InvalidRequest, UpstreamProtocolError
from opentoken.providers.base import EmbedBatch, UpstreamRequest

MAX_BATCH = 100  # BatchEmbedContentsRequest.requests: at most 100 requests in one batch
MIN_DIMENSIONS = 128


class _Text(msgspec.Struct):
    text: str


class _Content(msgspec.Struct):
    parts: list[_Text]


class _EmbedContent(msgspec.Struct, rename="camel", omit_defaults=True):
    model: str
    content: _Content
    output_dimensionality: int | None = None


class _Batch(msgspec.Struct):
    requests: list[_EmbedContent]


class _Values(msgspec.Struct):
    values: list[float]


class _BatchReply(msgspec.Struct):
    embeddings: list[_Values] = msgspec.field(default_factory=list)


class _CountRequest(msgspec.Struct):
    contents: list[_Content]


class _CountReply(msgspec.Struct, rename="camel"):
    total_tokens: int = 0


def _check(request: EmbedRequest, model: ModelInfo) -> None:
    full = model.embedding_dimensions
    if request.dimensions is not None and not MIN_DIMENSIONS <= request.dimensions <= full:
        raise InvalidRequest(
            f"dimensions must be between {MIN_DIMENSIONS} and {full} for {model.id}.", loc=("dimensions",)
        )
    for i, text in enumerate(request.inputs):
        if not text.strip():
            raise InvalidRequest("An input to embed must not be empty.", loc=("inputs", i))


def embed_requests(request: EmbedRequest, model: ModelInfo) -> list[EmbedBatch]:
    _check(request, model)
    name = f"models/{model.upstream_model}"
    dims = request.dimensions if request.dimensions != model.embedding_dimensions else None
    out = []
    for start in range(0, len(request.inputs), MAX_BATCH):
        texts = request.inputs[start : start + MAX_BATCH]
        batch = _Batch(
            [_EmbedContent(model=name, content=_Content([_Text(t)]), output_dimensionality=dims) for t in texts]
        )
        upstream = UpstreamRequest(
            path=f"/v1beta/{name}:batchEmbedContents",
            body=msgspec.json.encode(batch),
            headers={"content-type": "application/json"},
            stream=False,
        )
        out.append(EmbedBatch(upstream, len(texts)))
    return out


def unit(values: list[float]) -> tuple[float, ...]:
    norm = math.sqrt(math.fsum(v * v for v in values))
    return tuple(v / norm for v in values) if norm > 0 else tuple(values)


def parse_embeddings(body: bytes, expected: int) -> list[tuple[float, ...]]:
    try:
        reply = msgspec.json.decode(body, type=_BatchReply)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpstreamProtocolError(f"Gemini sent an embedding reply the gateway could not read: {e}") from e
    if len(reply.embeddings) != expected:
        raise UpstreamProtocolError(f"Gemini returned {len(reply.embeddings)} embeddings for {expected} inputs.")
    return [unit(e.values) for e in reply.embeddings]


def count_request(request: EmbedRequest, model: ModelInfo) -> UpstreamRequest:
    body = _CountRequest([_Content([_Text(text)]) for text in request.inputs])
    return UpstreamRequest(
        path=f"/v1beta/models/{model.upstream_model}:countTokens",
        body=msgspec.json.encode(body),
        headers={"content-type": "application/json"},
        stream=False,
    )


def parse_count(body: bytes) -> int:
    try:
        return msgspec.json.decode(body, type=_CountReply).total_tokens
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpstreamProtocolError(f"Gemini sent a token count the gateway could not read: {e}") from e
