"""Deeply nested client JSON (tool schemas, tool-call arguments) is a 400 naming the param, never a
RecursionError while the upstream body is encoded (issue 10, item 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import ChatRequest, Message, ResponseFormat, TextPart, Tool, ToolCall
from opentoken.core.errors import InvalidRequest
from opentoken.providers.registry import all_providers

CATALOG = load_catalog()
HI = (Message("user", (TextPart("hi"),)),)


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize("model_id", ["anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash"])
def test_500_deep_tool_schema_is_a_400(model_id: str) -> None:
    model = CATALOG.resolve(model_id)
    provider = all_providers()[model.provider]
    request = ChatRequest(model=model_id, messages=HI, tools=(Tool(name="f", parameters=nested(500)),))
    if model.provider == "google":  # Gemini compiles the schema and cuts it at MAX_DEPTH: a valid request
        json.loads(provider.build_request(request, model).body)
        return
    with pytest.raises(InvalidRequest, match="nested more than") as e:
        provider.build_request(request, model)
    assert e.value.loc == ("tools", 0, "parameters")


def test_deep_response_schema_is_a_400_on_anthropic() -> None:
    model = CATALOG.resolve("anthropic/claude-sonnet-4-5")
    fmt = ResponseFormat(type="json_schema", name="x", schema=nested(500))
    with pytest.raises(InvalidRequest) as e:
        all_providers()["anthropic"].build_request(ChatRequest(model=model.id, messages=HI, response_format=fmt), model)
    assert e.value.loc == ("response_format", "schema")


def test_deep_tool_call_arguments_are_a_400_on_gemini() -> None:
    model = CATALOG.resolve("google/gemini-2.5-flash")
    args = json.dumps(nested(450))
    messages = (
        *HI,
        Message("assistant", (), tool_calls=(ToolCall(id="call_1", name="f", arguments=args),)),
        Message("tool", (TextPart("ok"),), tool_call_id="call_1"),
    )
    with pytest.raises(InvalidRequest) as e:
        all_providers()["google"].build_request(ChatRequest(model=model.id, messages=messages), model)
    assert e.value.loc == ("messages", 1, "tool_calls", 0, "arguments")
