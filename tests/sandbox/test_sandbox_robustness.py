"""Malformed requests get a provider error, never a crash: every value of a rich request is replaced by junk."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

JUNK: list[Any] = [None, 0, -1, 1.5, True, "x", "", [], [1], [None], [{}], {}, {"type": "zzz"}, {"x": [1]}]

ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 2048,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    "stop_sequences": ["END"],
    "tools": [
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
    ],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Use get_weather"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "c2lnbmF0dXJl" * 20},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "3C"}]}],
        },
    ],
}

GEMINI = {
    "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}]},
    "contents": [
        {
            "role": "user",
            "parts": [{"text": "Call get_weather"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
        },
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                    "thoughtSignature": "skip_thought_signature_validator",
                }
            ],
        },
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": "3C"}}}]},
    ],
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "enum": ["a"]}}},
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    "generationConfig": {
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
        "thinkingConfig": {"thinkingLevel": "LOW", "includeThoughts": True},
    },
}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*prefix, index))


def replaced(body: dict[str, Any], path: tuple[Any, ...], junk: Any) -> Any:
    if not path:
        return junk
    out = copy.deepcopy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = junk
    return out


async def test_anthropic_never_crashes(sbx) -> None:
    for path in paths(ANTHROPIC):
        for junk in JUNK:
            reply = await sbx.anthropic(replaced(ANTHROPIC, path, junk))
            assert reply.status < 500, (path, junk, reply.text)
            assert reply.json()["type"] in ("message", "error"), (path, junk)


async def test_gemini_never_crashes(sbx) -> None:
    for path in paths(GEMINI):
        for junk in JUNK:
            reply = await sbx.gemini("gemini-3-flash-preview", replaced(GEMINI, path, junk))
            assert reply.status < 500, (path, junk, reply.text)
            body = reply.json()
            assert "candidates" in body or "error" in body or "promptFeedback" in body, (path, junk)


ANTHROPIC_FEATURES = {
    "model": "claude-opus-4-8",
    "max_tokens": 4096,
    "metadata": {"user_id": "u-1"},
    "thinking": {"type": "adaptive", "display": "omitted"},
    "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}},
    "context_management": {
        "edits": [
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}},
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 10},
                "keep": {"type": "tool_uses", "value": 1},
                "clear_at_least": {"type": "input_tokens", "value": 1},
                "exclude_tools": ["x"],
                "clear_tool_inputs": True,
            },
        ]
    },
    "tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
        {
            "name": "get_weather",
            "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "Oslo is cold."},
                    "title": "Notes",
                    "citations": {"enabled": True},
                },
                {"type": "text", "text": "Search and use get_weather", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_1",
                    "content": [
                        {"type": "web_search_result", "url": "https://a.b", "title": "t", "encrypted_content": "ZZZZ"}
                    ],
                },
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "is_error": True,
                    "content": [{"type": "text", "text": "no"}],
                }
            ],
        },
    ],
}
CONTEXT_HEADERS = {
    "x-api-key": "k",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "context-management-2025-06-27",
}
EMBED_BATCH = {
    "requests": [
        {
            "model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": "hello"}]},
            "taskType": "RETRIEVAL_DOCUMENT",
            "title": "T",
            "outputDimensionality": 128,
        }
    ]
}
COUNT = {"generateContentRequest": {"model": "models/gemini-3-flash-preview", **GEMINI}}


async def test_anthropic_features_never_crash(sbx) -> None:
    counted = {k: v for k, v in ANTHROPIC_FEATURES.items() if k not in ("max_tokens", "metadata")}
    assert (await sbx.post("/v1/messages", ANTHROPIC_FEATURES, CONTEXT_HEADERS)).status == 200
    assert (await sbx.post("/v1/messages/count_tokens", counted, CONTEXT_HEADERS)).status == 200
    for path in paths(ANTHROPIC_FEATURES):
        for junk in JUNK:
            for target, body in (("/v1/messages", ANTHROPIC_FEATURES), ("/v1/messages/count_tokens", counted)):
                if path and path[0] not in body:
                    continue
                reply = await sbx.post(target, replaced(body, path, junk), CONTEXT_HEADERS)
                assert reply.status < 500, (target, path, junk, reply.text)
                assert "error" in reply.json() or reply.status == 200, (path, junk)


async def test_gemini_count_and_embed_never_crash(sbx) -> None:
    for model, method, body in (
        ("gemini-embedding-001", "batchEmbedContents", EMBED_BATCH),
        ("gemini-embedding-001", "embedContent", EMBED_BATCH["requests"][0]),
        ("gemini-3-flash-preview", "countTokens", COUNT),
    ):
        assert (await sbx.post(f"/v1beta/models/{model}:{method}", body, {"x-goog-api-key": "k"})).status == 200
        for path in paths(body):
            for junk in JUNK:
                reply = await sbx.post(
                    f"/v1beta/models/{model}:{method}", replaced(body, path, junk), {"x-goog-api-key": "k"}
                )
                assert reply.status < 500, (method, path, junk, reply.text)
