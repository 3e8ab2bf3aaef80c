"""Gemini Google Search grounding (request map; ``groundingMetadata`` -> server-tool blocks, whole and streamed
alike) and the embedding pieces (batches of at most 100 in order, dimensions, unit vectors, token counting)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core import chat as c
from opentoken.core.embed import EmbedRequest
from opentoken.core.errors import InvalidRequest, UpstreamProtocolError
from opentoken.core.fold import fold_events
from opentoken.core.result import ServerToolCallBlock, ServerToolResultBlock, TextBlock
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini import EMBEDDER, PROVIDER
from opentoken.providers.gemini.response import parse_response
from opentoken.providers.gemini.stream import GeminiStreamDecoder

CATALOG = load_catalog()
FLASH3 = CATALOG.resolve("google/gemini-3-flash")
FLASH25 = CATALOG.resolve("google/gemini-2.5-flash")
EMBEDDING = CATALOG.resolve("google/gemini-embedding-001")
TOOL = c.Tool(name="f", parameters={"type": "object", "properties": {"a": {"type": "string"}}})
GROUNDING = {
    "webSearchQueries": ["tides oslo"],
    "groundingChunks": [
        {"web": {"uri": "https://example.com/1", "title": "example1.com"}},
        {"web": {"uri": "https://example.com/2"}},
    ],
    "searchEntryPoint": {"renderedContent": "<div></div>"},
}


def request(**kw: Any) -> c.ChatRequest:
    return c.ChatRequest(model="m", messages=(c.Message(role="user", parts=(c.TextPart("search tides"),)),), **kw)


def test_google_search_where_the_model_can_use_it() -> None:
    built = PROVIDER.build_request(request(web_search=c.WebSearch()), FLASH3)
    assert json.loads(built.body)["tools"] == [{"googleSearch": {}}] and "web_search" not in built.adjusted
    both = PROVIDER.build_request(request(web_search=c.WebSearch(), tools=(TOOL,)), FLASH3)
    assert len(json.loads(both.body)["tools"]) == 2  # Gemini 3 combines built-in tools and functions
    older = PROVIDER.build_request(request(web_search=c.WebSearch(), tools=(TOOL,)), FLASH25)
    assert [list(t) for t in json.loads(older.body)["tools"]] == [["functionDeclarations"]]
    assert "web_search" in older.adjusted
    no_search = replace(FLASH3, capabilities=replace(FLASH3.capabilities, web_search=False))
    dropped = PROVIDER.build_request(request(web_search=c.WebSearch()), no_search)
    assert "tools" not in json.loads(dropped.body) and "web_search" in dropped.adjusted
    cached = PROVIDER.build_request(request(prompt_cache_key="session-key-1"), FLASH3)
    assert "prompt_cache_key" in cached.adjusted and "session-key-1" not in cached.body.decode()


def _ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"call_{n}"


def test_grounding_metadata_whole_and_streamed_are_the_same() -> None:
    candidate = {
        "content": {"role": "model", "parts": [{"text": "High tide "}, {"text": "is at noon."}]},
        "finishReason": "STOP",
    }
    whole = parse_response(
        json.dumps({"candidates": [{**candidate, "groundingMetadata": GROUNDING}]}).encode(), _ids().__next__
    )
    blocks = whole.candidates[0].blocks
    assert blocks[0] == TextBlock("High tide is at noon.")
    call, result = blocks[1], blocks[2]
    assert isinstance(call, ServerToolCallBlock) and json.loads(call.arguments)["query"] == "tides oslo"
    assert isinstance(result, ServerToolResultBlock) and result.call_id == call.id
    assert json.loads(result.content) == [
        {"url": "https://example.com/1", "title": "example1.com"},
        {"url": "https://example.com/2", "title": None},
    ]
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "High tide "}]}}]},
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": "is at noon."}]},
                    "finishReason": "STOP",
                    "groundingMetadata": GROUNDING,
                }
            ]
        },
    ]
    decoder = GeminiStreamDecoder(_ids().__next__)
    events = [ev for chunk in chunks for ev in decoder.feed(SSEEvent(json.dumps(chunk)))] + decoder.close()
    assert fold_events(events).candidates == whole.candidates


def test_embedding_batches_keep_order_within_the_limit() -> None:
    texts = tuple(f"t{n}" for n in range(250))
    batches = EMBEDDER.embed_requests(EmbedRequest(EMBEDDING.id, texts, dimensions=256), EMBEDDING)
    assert [b.count for b in batches] == [100, 100, 50]
    sent = [json.loads(b.request.body) for b in batches]
    assert [r["content"]["parts"][0]["text"] for body in sent for r in body["requests"]] == list(texts)
    assert {r["outputDimensionality"] for body in sent for r in body["requests"]} == {256}
    assert {r["model"] for body in sent for r in body["requests"]} == {"models/gemini-embedding-001"}
    assert batches[0].request.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    full = EMBEDDER.embed_requests(EmbedRequest(EMBEDDING.id, ("a",)), EMBEDDING)[0]
    assert "outputDimensionality" not in full.request.body.decode()


@pytest.mark.parametrize(("dimensions", "inputs"), [(64, ("a",)), (4096, ("a",)), (None, ("a", "  "))])
def test_embedding_requests_refused(dimensions: int | None, inputs: tuple[str, ...]) -> None:
    with pytest.raises(InvalidRequest):
        EMBEDDER.embed_requests(EmbedRequest(EMBEDDING.id, inputs, dimensions=dimensions), EMBEDDING)


def test_embedding_replies_are_unit_vectors_and_counted() -> None:
    reply = {"embeddings": [{"values": [3.0, 4.0]}, {"values": [0.0, 2.0]}]}
    vectors = EMBEDDER.parse_embeddings(json.dumps(reply).encode(), 2)
    assert vectors == [(0.6, 0.8), (0.0, 1.0)] and all(math.isclose(math.hypot(*v), 1) for v in vectors)
    with pytest.raises(UpstreamProtocolError):
        EMBEDDER.parse_embeddings(json.dumps(reply).encode(), 3)
    count = EMBEDDER.count_request(EmbedRequest(EMBEDDING.id, ("a", "b")), EMBEDDING)
    assert count.path.endswith("gemini-embedding-001:countTokens")
    assert json.loads(count.body) == {"contents": [{"parts": [{"text": "a"}]}, {"parts": [{"text": "b"}]}]}
    assert EMBEDDER.parse_count(b'{"totalTokens": 7}') == 7
