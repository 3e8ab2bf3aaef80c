"""Every tool call the gateway emits carries arguments that parse as a JSON object: ``"{}"`` when the tool
takes none. Both providers, stream and not, through the official SDK (its ``chat.completions.stream()``
helper parses the arguments of every call)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]
NO_ARGS: list[Any] = [
    {"type": "function", "function": {"name": "get_version", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "ping"}},  # no parameters at all
]
STRICT: list[Any] = [  # strict tools: the SDK's stream helper parses their arguments as it goes
    {
        "type": "function",
        "function": {
            "name": "get_version",
            "strict": True,
            "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
        },
    }
]
ASK = [{"role": "user", "content": "Call get_version and ping, in parallel."}]
pytestmark = pytest.mark.parametrize("model", MODELS)


def test_non_stream_zero_argument_calls(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(model=model, messages=ASK, tools=NO_ARGS, tool_choice="required")
    calls = resp.choices[0].message.tool_calls or []
    assert calls
    for call in calls:
        assert json.loads(call.function.arguments) == {}


def test_stream_helper_parses_zero_argument_calls(client: openai.OpenAI, model: str) -> None:
    with client.chat.completions.stream(model=model, messages=ASK, tools=STRICT, tool_choice="required") as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert calls
    for call in calls:
        assert call.function.arguments == "{}"
        assert call.function.parsed_arguments == {}


def test_raw_stream_arguments_join_to_json_objects(client: openai.OpenAI, model: str) -> None:
    joined: dict[int, str] = {}
    for chunk in client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=NO_ARGS,
        tool_choice="required",
        stream=True,
    ):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            joined[delta.index] = joined.get(delta.index, "") + ((delta.function and delta.function.arguments) or "")
    assert joined
    assert all(json.loads(args) == {} for args in joined.values())
