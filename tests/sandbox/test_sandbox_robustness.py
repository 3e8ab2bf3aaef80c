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
