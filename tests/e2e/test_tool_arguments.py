"""Every tool call the gateway emits carries arguments that parse as a JSON object: ``"{}"`` when the tool
takes none. Both providers, stream and not, through the official SDK (its ``chat.completions.stream()``
helper parses the arguments of every call)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from support.servers import Gateway

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


# ---- the Anthropic Messages ingress: a tool call's input is always a JSON object ----


@pytest.fixture
def claude(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)


ANTHROPIC_NO_ARGS: list[Any] = [
    {"name": "get_version", "input_schema": {"type": "object", "properties": {}}},
    {"name": "ping", "input_schema": {"type": "object"}},
]


def test_messages_zero_argument_calls(claude: anthropic.Anthropic, model: str) -> None:
    msg = claude.messages.create(
        model=model,
        max_tokens=200,
        messages=[{"role": "user", "content": "Call get_version and ping, in parallel."}],
        tools=ANTHROPIC_NO_ARGS,
        tool_choice={"type": "any"},
    )
    calls = [b for b in msg.content if b.type == "tool_use"]
    assert calls and all(b.input == {} for b in calls)


def test_messages_stream_zero_argument_calls(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(
        model=model,
        max_tokens=200,
        messages=[{"role": "user", "content": "Call get_version and ping, in parallel."}],
        tools=ANTHROPIC_NO_ARGS,
        tool_choice={"type": "any"},
    ) as stream:
        partial: dict[int, str] = {}
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partial[event.index] = partial.get(event.index, "") + event.delta.partial_json
        final = stream.get_final_message()
    calls = [b for b in final.content if b.type == "tool_use"]
    assert calls and all(b.input == {} for b in calls)
    assert all(json.loads(text or "{}") == {} for text in partial.values())


# ---- the Responses API: a function call's arguments are always a JSON object ----

RESPONSES_NO_ARGS: list[Any] = [
    {"type": "function", "name": "get_version", "parameters": {"type": "object", "properties": {}}},
    {"type": "function", "name": "ping", "parameters": {"type": "object"}},
]


def test_responses_zero_argument_calls(client: openai.OpenAI, model: str) -> None:
    resp = client.responses.create(
        model=model, input="Call get_version and ping, in parallel.", tools=RESPONSES_NO_ARGS, tool_choice="required"
    )
    calls = [o for o in resp.output if o.type == "function_call"]
    assert calls and all(json.loads(c.arguments) == {} for c in calls)


def test_responses_stream_zero_argument_calls(client: openai.OpenAI, model: str) -> None:
    done: list[str] = []
    items: list[str] = []
    with client.responses.stream(
        model=model, input="Call get_version and ping, in parallel.", tools=RESPONSES_NO_ARGS, tool_choice="required"
    ) as stream:
        for event in stream:
            if event.type == "response.function_call_arguments.done":
                done.append(event.arguments)
            elif event.type == "response.output_item.done" and event.item.type == "function_call":
                items.append(event.item.arguments)
    assert done and all(json.loads(a) == {} for a in done)
    assert items and all(json.loads(a) == {} for a in items)
