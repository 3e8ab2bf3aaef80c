"""Anthropic's web search server tool and prompt-cache breakpoints: the request map, and replies with
``server_tool_use`` / ``web_search_tool_result`` blocks and cited text, whole and streamed (same result)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from opentoken.catalog.registry import load_catalog
from opentoken.core import chat as c
from opentoken.core.fold import fold_events
from opentoken.core.result import ServerToolCallBlock, ServerToolResultBlock, TextBlock
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.base import SSEEvent

CATALOG = load_catalog()
SONNET = CATALOG.resolve("anthropic/claude-sonnet-4-6")
RESULTS = [
    {"type": "web_search_result", "url": "https://example.com/1", "title": "One", "encrypted_content": "e1"},
    {"type": "web_search_result", "url": "https://example.com/2", "title": "Two", "encrypted_content": "e2"},
]
CITATION = {"type": "web_search_result_location", "url": "https://example.com/1", "title": "One", "cited_text": "x"}
CONTENT: list[dict[str, Any]] = [
    {"type": "text", "text": "Let me search."},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "tides oslo"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": RESULTS},
    {"type": "text", "text": "High tide is at noon.", "citations": [CITATION]},
]
USAGE = {"input_tokens": 10, "output_tokens": 20, "server_tool_use": {"web_search_requests": 1}}


def request(**kw: Any) -> c.ChatRequest:
    return c.ChatRequest(model=SONNET.id, messages=(c.Message(role="user", parts=(c.TextPart("Search tides"),)),), **kw)


def body_of(req: c.ChatRequest, model: Any = SONNET) -> tuple[dict[str, Any], tuple[str, ...]]:
    built = PROVIDER.build_request(req, model)
    return json.loads(built.body), built.adjusted


def test_web_search_tool_is_added_where_the_model_has_it() -> None:
    body, adjusted = body_of(request(web_search=c.WebSearch(max_uses=2, allowed_domains=("example.com",))))
    assert body["tools"] == [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["example.com"]}
    ]
    assert "web_search" not in adjusted
    no_search = replace(SONNET, capabilities=replace(SONNET.capabilities, web_search=False))
    body, adjusted = body_of(request(web_search=c.WebSearch()), no_search)
    assert "tools" not in body and "web_search" in adjusted


def test_prompt_cache_key_marks_breakpoints() -> None:
    tool = c.Tool(name="f", parameters={"type": "object", "properties": {}})
    messages = (
        c.Message(role="system", parts=(c.TextPart("rules"),)),
        c.Message(role="user", parts=(c.TextPart("hi"),)),
    )
    req = c.ChatRequest(model=SONNET.id, messages=messages, tools=(tool,), prompt_cache_key="k")
    body, _ = body_of(req)
    mark = {"type": "ephemeral"}
    assert body["system"] == [{"type": "text", "text": "rules", "cache_control": mark}]
    assert body["tools"][-1]["cache_control"] == mark
    assert body["messages"][-1]["content"][-1]["cache_control"] == mark
    plain, _ = body_of(c.ChatRequest(model=SONNET.id, messages=messages, tools=(tool,)))
    assert "cache_control" not in json.dumps(plain) and plain["system"] == "rules"


def _sse(event: dict[str, Any]) -> SSEEvent:
    return SSEEvent(data=json.dumps(event), event=event["type"])


def _stream() -> list[SSEEvent]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "m", "content": [], "usage": {"input_tokens": 10}},
        }
    ]
    for i, block in enumerate(CONTENT):
        if block["type"] == "server_tool_use":
            events.append({"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}})
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": '{"query": '},
                }
            )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": '"tides oslo"}'},
                }
            )
        elif block["type"] == "text":
            start: dict[str, Any] = {"type": "text", "text": ""} | ({"citations": []} if "citations" in block else {})
            events.append({"type": "content_block_start", "index": i, "content_block": start})
            events.append(
                {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": block["text"]}}
            )
            for cited in block.get("citations", []):
                events.append(
                    {"type": "content_block_delta", "index": i, "delta": {"type": "citations_delta", "citation": cited}}
                )
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": block})
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 20}})
    events.append({"type": "message_stop"})
    return [_sse(e) for e in events]


def test_server_tool_blocks_whole_and_streamed_are_the_same() -> None:
    message = {"id": "msg_1", "model": "m", "content": CONTENT, "stop_reason": "end_turn", "usage": USAGE}
    whole = PROVIDER.parse_response(json.dumps(message).encode(), SONNET)
    blocks = whole.candidates[0].blocks
    assert blocks == (
        TextBlock("Let me search."),
        ServerToolCallBlock("srvtoolu_1", "web_search", '{"query": "tides oslo"}'),
        ServerToolResultBlock(
            "srvtoolu_1",
            "web_search",
            '[{"url":"https://example.com/1","title":"One"},{"url":"https://example.com/2","title":"Two"}]',
        ),
        TextBlock("High tide is at noon."),
    )
    decoder = PROVIDER.stream_decoder(SONNET)
    events = [ev for sse in _stream() for ev in decoder.feed(sse)] + decoder.close()
    assert fold_events(events).candidates == whole.candidates
