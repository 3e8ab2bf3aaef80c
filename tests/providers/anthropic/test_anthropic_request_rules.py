"""Request parameter rules: max_tokens, sampling, stop, unsupported parameters, reasoning, tools, formats."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from opentoken.catalog.model import Capabilities, ModelInfo, ReasoningSpec
from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import (
    ChatRequest,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.anthropic.request import JSON_OBJECT_INSTRUCTION
from opentoken.providers.base import UpstreamRequest
from support.catalog import entry

CATALOG = load_catalog()
SONNET = entry(CATALOG, "anthropic/claude-sonnet-4-5")  # budget thinking, 64000 max output, default 8192
SONNET_46 = CATALOG.resolve("anthropic/claude-sonnet-4-6")  # adaptive thinking
OPUS_41 = CATALOG.resolve("anthropic/claude-opus-4-1")  # no structured output, 32000 max output
NO_REASONING = replace(SONNET, capabilities=replace(SONNET.capabilities, reasoning=False), reasoning=ReasoningSpec())
HELLO = (Message("user", (TextPart("hello"),)),)
WEATHER = Tool(name="get_weather", description="Weather", parameters={"type": "object", "properties": {}})


def upstream(model: ModelInfo = SONNET, **kwargs: Any) -> UpstreamRequest:
    return PROVIDER.build_request(ChatRequest(model=model.id, messages=kwargs.pop("messages", HELLO), **kwargs), model)


def body(model: ModelInfo = SONNET, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(upstream(model, **kwargs).body)
    return result


def error(exc: type[InvalidRequest], model: ModelInfo = SONNET, **kwargs: Any) -> InvalidRequest:
    with pytest.raises(exc) as info:
        upstream(model, **kwargs)
    return info.value


# ---- provider object ----


def test_provider_attributes() -> None:
    assert PROVIDER.name == "anthropic"
    assert PROVIDER.default_base_url == "https://api.anthropic.com"
    assert PROVIDER.key_env_vars == ("ANTHROPIC_API_KEY",)
    assert PROVIDER.fetches_image_urls is True
    assert PROVIDER.auth_headers("sk-ant-test") == {"x-api-key": "sk-ant-test"}


def test_path_headers_and_minimal_body() -> None:
    up = upstream(stream=True)
    assert up.path == "/v1/messages"
    assert up.stream is True
    assert up.headers["anthropic-version"] == "2023-06-01"
    assert up.headers["content-type"] == "application/json"
    assert "x-api-key" not in up.headers  # credentials are added by the upstream layer
    assert json.loads(up.body) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        "stream": True,
    }
    assert up.adjusted == ()


# ---- max_tokens ----


def test_max_tokens_default_and_explicit() -> None:
    assert body()["max_tokens"] == SONNET.default_max_tokens
    assert body(max_tokens=123)["max_tokens"] == 123
    assert body(max_tokens=64000)["max_tokens"] == 64000


def test_max_tokens_above_model_limit_is_rejected() -> None:
    err = error(InvalidRequest, max_tokens=64001)
    assert err.loc == ("max_tokens",)
    assert "64000" in err.message


# ---- sampling ----


def test_temperature_above_one_is_capped_and_reported() -> None:
    up = upstream(temperature=1.7)
    assert json.loads(up.body)["temperature"] == 1.0
    assert up.adjusted == ("temperature",)
    assert body(temperature=0.3)["temperature"] == 0.3


def test_temperature_and_top_p_together_keep_temperature() -> None:
    up = upstream(temperature=0.5, top_p=0.9)
    sent = json.loads(up.body)
    assert sent["temperature"] == 0.5 and "top_p" not in sent
    assert up.adjusted == ("top_p",)
    assert body(top_p=0.9)["top_p"] == 0.9


def test_stop_sequences() -> None:
    assert body(stop=("END", "\n\nHuman:"))["stop_sequences"] == ["END", "\n\nHuman:"]
    assert "stop_sequences" not in body()


@pytest.mark.parametrize("bad", [" ", "\n", "\t \n", ""])
def test_whitespace_only_stop_sequence_is_rejected(bad: str) -> None:
    assert error(InvalidRequest, stop=("ok", bad)).loc == ("stop",)


def test_more_than_one_candidate_is_unsupported() -> None:
    assert error(UnsupportedParameter, candidate_count=2).loc == ("candidate_count",)
    assert body(candidate_count=1)["max_tokens"] == 8192


def test_logprobs_is_unsupported() -> None:
    assert error(UnsupportedParameter, logprobs=True).loc == ("logprobs",)


def test_dropped_parameters_are_reported() -> None:
    up = upstream(seed=7, presence_penalty=0.5, frequency_penalty=-0.5, top_logprobs=2)
    sent = json.loads(up.body)
    assert not {"seed", "presence_penalty", "frequency_penalty", "top_logprobs"} & set(sent)
    assert up.adjusted == ("seed", "presence_penalty", "frequency_penalty", "top_logprobs")


def test_user_becomes_metadata() -> None:
    assert body(user="user-123")["metadata"] == {"user_id": "user-123"}
    assert "metadata" not in body()


# ---- reasoning ----


@pytest.mark.parametrize(("effort", "budget"), [("minimal", 1024), ("low", 1024), ("medium", 2048), ("high", 4096)])
def test_budget_thinking(effort: str, budget: int) -> None:
    up = upstream(reasoning_effort=effort)
    sent = json.loads(up.body)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert sent["max_tokens"] == 8192
    assert up.adjusted == ()


def test_budget_not_below_max_tokens_raises_max_tokens() -> None:
    # default max_tokens (8192) is not the client's choice: raising it is not reported
    up = upstream(reasoning_effort="max")  # 16384
    sent = json.loads(up.body)
    assert sent["thinking"]["budget_tokens"] == 16384
    assert sent["max_tokens"] == 16384 + 8192
    assert up.adjusted == ()
    # an explicit max_tokens keeps its room for the answer and is reported
    up = upstream(reasoning_effort="medium", max_tokens=1000)
    sent = json.loads(up.body)
    assert sent["thinking"]["budget_tokens"] == 2048
    assert sent["max_tokens"] == 3048
    assert up.adjusted == ("max_tokens",)


def test_budget_lowered_when_model_limit_is_reached() -> None:
    small = replace(SONNET, max_output_tokens=10000)
    up = upstream(small, reasoning_effort="max", max_tokens=9000)
    sent = json.loads(up.body)
    assert sent["max_tokens"] == 10000
    assert 1024 <= sent["thinking"]["budget_tokens"] < 10000
    assert set(up.adjusted) == {"max_tokens", "reasoning_effort"}


def test_budget_always_below_max_tokens() -> None:
    for effort in ("minimal", "low", "medium", "high", "xhigh", "max"):
        for max_tokens in (1, 1024, 4096, 30000, 32000):
            sent = body(OPUS_41, reasoning_effort=effort, max_tokens=max_tokens)
            assert 1024 <= sent["thinking"]["budget_tokens"] < sent["max_tokens"] <= OPUS_41.max_output_tokens


def test_effort_none_means_no_thinking() -> None:
    assert "thinking" not in body(reasoning_effort="none")
    assert "thinking" not in body(NO_REASONING, reasoning_effort="none")


def test_effort_on_model_without_reasoning_is_unsupported() -> None:
    assert error(UnsupportedParameter, NO_REASONING, reasoning_effort="low").loc == ("reasoning_effort",)


def test_effort_missing_from_the_table_is_unsupported() -> None:
    limited = replace(SONNET, reasoning=replace(SONNET.reasoning, budgets={"low": 1024}))
    assert error(UnsupportedParameter, limited, reasoning_effort="high").loc == ("reasoning_effort",)


def test_default_on_thinking_is_disabled_for_none() -> None:
    always = replace(SONNET, reasoning=replace(SONNET.reasoning, default_on=True))
    assert body(always, reasoning_effort="none")["thinking"] == {"type": "disabled"}
    stuck = replace(always, reasoning=replace(always.reasoning, can_disable=False))
    assert error(UnsupportedParameter, stuck, reasoning_effort="none").loc == ("reasoning_effort",)


@pytest.mark.parametrize(("effort", "level"), [("low", "low"), ("medium", "medium"), ("high", "high"), ("max", "max")])
def test_adaptive_thinking(effort: str, level: str) -> None:
    sent = body(SONNET_46, reasoning_effort=effort)
    assert sent["thinking"] == {"type": "adaptive"}
    assert sent["output_config"] == {"effort": level}
    assert sent["max_tokens"] == 8192


def test_thinking_drops_temperature_and_clamps_top_p() -> None:
    up = upstream(reasoning_effort="low", temperature=0.2, top_p=0.5)
    sent = json.loads(up.body)
    assert "temperature" not in sent
    assert sent["top_p"] == 0.95
    assert set(up.adjusted) == {"temperature", "top_p"}
    up = upstream(SONNET_46, reasoning_effort="low", top_p=0.97)
    assert json.loads(up.body)["top_p"] == 0.97 and up.adjusted == ()


def test_thinking_turns_forced_tool_choice_into_auto() -> None:
    for choice in (ToolChoice("required"), ToolChoice("function", "get_weather")):
        up = upstream(reasoning_effort="low", tools=(WEATHER,), tool_choice=choice)
        assert json.loads(up.body)["tool_choice"] == {"type": "auto"}
        assert up.adjusted == ("tool_choice",)
    up = upstream(reasoning_effort="low", tools=(WEATHER,), tool_choice=ToolChoice("none"))
    assert json.loads(up.body)["tool_choice"] == {"type": "none"} and up.adjusted == ()


# ---- tools ----


def test_tool_definitions() -> None:
    tools = (
        Tool(name="a", description="A tool", parameters={"type": "object", "properties": {"x": {"type": "string"}}}),
        Tool(name="b"),
        Tool(name="c", parameters={"properties": {}}),
    )
    assert body(tools=tools)["tools"] == [
        {
            "name": "a",
            "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
            "description": "A tool",
        },
        {"name": "b", "input_schema": {"type": "object", "properties": {}}},
        {"name": "c", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_strict_is_dropped_and_reported() -> None:
    up = upstream(tools=(replace(WEATHER, strict=True),))
    assert "strict" not in json.loads(up.body)["tools"][0]
    assert up.adjusted == ("tools.function.strict",)


@pytest.mark.parametrize(
    ("choice", "parallel", "want"),
    [
        (None, None, None),
        (ToolChoice("auto"), None, {"type": "auto"}),
        (ToolChoice("none"), None, {"type": "none"}),
        (ToolChoice("required"), None, {"type": "any"}),
        (ToolChoice("function", "get_weather"), None, {"type": "tool", "name": "get_weather"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            ToolChoice("function", "get_weather"),
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        (ToolChoice("auto"), True, {"type": "auto"}),
    ],
)
def test_tool_choice(choice: ToolChoice | None, parallel: bool | None, want: dict[str, Any] | None) -> None:
    sent = body(tools=(WEATHER,), tool_choice=choice, parallel_tool_calls=parallel)
    assert sent.get("tool_choice") == want


def test_tool_choice_naming_an_unknown_tool() -> None:
    err = error(InvalidRequest, tools=(WEATHER,), tool_choice=ToolChoice("function", "nope"))
    assert err.loc == ("tool_choice",)


def test_forced_tool_choice_without_tools() -> None:
    assert error(InvalidRequest, tool_choice=ToolChoice("required")).loc == ("tool_choice",)
    assert "tool_choice" not in body(tool_choice=ToolChoice("auto"))


def test_tools_on_model_without_tools() -> None:
    no_tools = replace(SONNET, capabilities=Capabilities(tools=False))
    assert error(UnsupportedParameter, no_tools, tools=(WEATHER,)).loc == ("tools",)


def test_history_with_tool_calls_but_no_tools_gets_synthetic_definitions() -> None:
    messages = (
        Message("user", (TextPart("weather and time?"),)),
        Message(
            "assistant",
            tool_calls=(
                ToolCall("toolu_1", "get_weather", '{"city": "Oslo"}'),
                ToolCall("toolu_2", "get_time", ""),
                ToolCall("toolu_3", "get_weather", '{"city": "Bergen"}'),
            ),
        ),
        Message("tool", (TextPart("rain"),), tool_call_id="toolu_1"),
        Message("tool", (TextPart("noon"),), tool_call_id="toolu_2"),
        Message("tool", (TextPart("sun"),), tool_call_id="toolu_3"),
        Message("user", (TextPart("thanks, summarise"),)),
    )
    sent = body(messages=messages)
    assert [t["name"] for t in sent["tools"]] == ["get_weather", "get_time"]
    assert all(t["input_schema"] == {"type": "object", "properties": {}} for t in sent["tools"])
    assert sent["tool_choice"] == {"type": "none"}  # the model must not call tools the client did not offer


# ---- response_format ----


SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}


def test_json_schema_response_format() -> None:
    sent = body(response_format=ResponseFormat("json_schema", name="x", schema=SCHEMA, strict=True))
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}


def test_json_schema_with_adaptive_effort_share_output_config() -> None:
    fmt = ResponseFormat("json_schema", name="x", schema=SCHEMA)
    sent = body(SONNET_46, response_format=fmt, reasoning_effort="medium")
    assert sent["output_config"] == {"effort": "medium", "format": {"type": "json_schema", "schema": SCHEMA}}


def test_json_schema_on_model_without_structured_output() -> None:
    fmt = ResponseFormat("json_schema", name="x", schema=SCHEMA)
    assert error(UnsupportedParameter, OPUS_41, response_format=fmt).loc == ("response_format",)


def test_json_schema_without_schema() -> None:
    fmt = ResponseFormat("json_schema", name="x")
    assert error(InvalidRequest, response_format=fmt).loc == ("response_format",)


def test_json_object_is_emulated_with_a_system_instruction() -> None:
    messages = (Message("system", (TextPart("Be terse."),)), *HELLO)
    up = upstream(messages=messages, response_format=ResponseFormat("json_object"))
    sent = json.loads(up.body)
    assert sent["system"] == "Be terse.\n\n" + JSON_OBJECT_INSTRUCTION
    assert "output_config" not in sent
    assert up.adjusted == ("response_format",)
    assert body(OPUS_41, response_format=ResponseFormat("json_object"))["system"] == JSON_OBJECT_INSTRUCTION


def test_text_response_format_is_a_no_op() -> None:
    up = upstream(response_format=ResponseFormat("text"))
    assert "output_config" not in json.loads(up.body) and up.adjusted == ()
