"""Grounding with Google Search: ``ChatRequest.web_search`` -> ``tools: [{"googleSearch": {}}]``, and the
``groundingMetadata`` of a reply -> canonical server-tool blocks.

- Request: on models whose catalog entry has ``web_search``. Gemini 3 combines built-in tools with function
  declarations in one request; earlier models refuse that combination, so there the search is dropped when the
  request also has functions (reported as ``web_search``, like a model without search). ``max_uses`` and
  ``allowed_domains`` have no Gemini equivalent (reported).
- Reply: a candidate's ``groundingMetadata`` becomes a ``ServerToolCallBlock`` (``web_search``, arguments
  ``{"query": ...}``, the first of ``webSearchQueries``; ``queries`` has them all) and a
  ``ServerToolResultBlock`` with the ``groundingChunks`` as ``{"url", "title"}`` sources, after the candidate's
  other blocks (Gemini sends the metadata with the last part of the answer).
"""

from __future__ import annotations

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.result import ServerToolCallBlock, ServerToolResultBlock
from opentoken.providers.gemini import wire

SEARCH = "web_search"


def with_search(
    tools: list[wire.Tool] | None, request: ChatRequest, model: ModelInfo, adjusted: list[str]
) -> list[wire.Tool] | None:
    search = request.web_search
    if search is None:
        return tools
    combines = model.upstream_model.startswith("gemini-3")
    if not model.capabilities.web_search or (tools and not combines):
        adjusted.append("web_search")
        return tools
    if search.max_uses is not None or search.allowed_domains:
        adjusted.append("web_search")
    return [*(tools or []), wire.Tool(google_search=wire.GoogleSearch())]


def search_blocks(meta: wire.GroundingMetadata, call_id: str) -> tuple[ServerToolCallBlock, ServerToolResultBlock]:
    queries = meta.web_search_queries
    arguments = {"query": queries[0] if queries else "", "queries": queries}
    sources = [{"url": c.web.uri, "title": c.web.title} for c in meta.grounding_chunks if c.web is not None]
    return (
        ServerToolCallBlock(id=call_id, name=SEARCH, arguments=msgspec.json.encode(arguments).decode()),
        ServerToolResultBlock(call_id=call_id, name=SEARCH, content=msgspec.json.encode(sources).decode()),
    )


def grounded(meta: wire.GroundingMetadata | None) -> bool:
    return meta is not None and bool(meta.web_search_queries or meta.grounding_chunks)
