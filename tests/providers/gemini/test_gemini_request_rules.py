"""Request mapping rules: generation config, reasoning, tools, messages and their errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.providers.gemini.request import build_request

GetModel = Callable[[str], ModelInfo]
HI = (Message("user", (TextPart("hi"),)),)


def build(
    model: GetModel, model_id: str = "google/gemini-2.5-flash", **fields: Any
) -> tuple[dict[str, Any], tuple[str, ...]]:
    fields.setdefault("messages", HI)
    built = build_request(ChatRequest(model=model_id, **fields), model(model_id))
    return json.loads(built.body), built.adjusted


# ---- generation config ----


def test_sampling_parameters(model: GetModel) -> None:
    body, adjusted = build(
        model, temperature=0.3, top_p=0.9, stop=("END", "STOP"), candidate_count=2, seed=7, max_tokens=100
    )
    assert body["generationConfig"] == {
        "temperature": 0.3,
        "topP": 0.9,
        "maxOutputTokens": 100,
        "stopSequences": ["END", "STOP"],
        "candidateCount": 2,
        "seed": 7,
    }
    assert adjusted == ()


def test_max_tokens_defaults_and_above_the_model_limit_is_rejected(model: GetModel) -> None:
    info = model("google/gemini-2.5-flash")
    body, _ = build(model)
    assert body["generationConfig"]["maxOutputTokens"] == info.default_max_tokens
    body, _ = build(model, max_tokens=info.max_output_tokens)
    assert body["generationConfig"]["maxOutputTokens"] == info.max_output_tokens
    with pytest.raises(InvalidRequest) as err:
        build(model, max_tokens=info.max_output_tokens + 1)
    assert err.value.loc == ("max_tokens",)


def test_more_than_five_stop_sequences_is_rejected(model: GetModel) -> None:
    with pytest.raises(InvalidRequest) as e:
        build(model, stop=tuple("abcdef"))
    assert e.value.loc == ("stop",)


def test_penalties_only_where_the_model_takes_them(model: GetModel) -> None:
    body, adjusted = build(model, "google/gemini-2.5-flash", presence_penalty=0.5, frequency_penalty=-0.5)
    assert body["generationConfig"]["presencePenalty"] == 0.5
    assert body["generationConfig"]["frequencyPenalty"] == -0.5
    assert adjusted == ()
    body, adjusted = build(model, "google/gemini-3-flash", presence_penalty=0.5, frequency_penalty=-0.5)
    assert "presencePenalty" not in body["generationConfig"]
    assert "frequencyPenalty" not in body["generationConfig"]
    assert adjusted == ("presence_penalty", "frequency_penalty")


def test_logprobs(model: GetModel) -> None:
    body, _ = build(model, logprobs=True, top_logprobs=3)
    assert body["generationConfig"]["responseLogprobs"] is True
    assert body["generationConfig"]["logprobs"] == 3
    body, _ = build(model, logprobs=False, top_logprobs=3)
    assert "responseLogprobs" not in body["generationConfig"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat("text"), {"responseMimeType": "text/plain"}),
        (ResponseFormat("json_object"), {"responseMimeType": "application/json"}),
        (
            ResponseFormat(
                "json_schema",
                "answer",
                {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {"a": {"const": "x"}},
                },
            ),
            {
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]}}},
            },
        ),
    ],
)
def test_response_format(model: GetModel, fmt: ResponseFormat, expected: dict[str, Any]) -> None:
    body, _ = build(model, response_format=fmt)
    config = body["generationConfig"]
    assert {k: v for k, v in config.items() if k.startswith("response")} == expected


# ---- reasoning ----


@pytest.mark.parametrize(
    ("model_id", "effort", "thinking", "adjusted"),
    [
        ("google/gemini-2.5-flash", "low", {"includeThoughts": True, "thinkingBudget": 1024}, ()),
        ("google/gemini-2.5-flash", "max", {"includeThoughts": True, "thinkingBudget": 24576}, ()),
        ("google/gemini-2.5-flash", "none", {"includeThoughts": False, "thinkingBudget": 0}, ()),
        ("google/gemini-2.5-flash-lite", "minimal", {"includeThoughts": True, "thinkingBudget": 512}, ()),
        ("google/gemini-2.5-pro", "minimal", {"includeThoughts": True, "thinkingBudget": 128}, ()),
        ("google/gemini-2.5-pro", "none", {"includeThoughts": False, "thinkingBudget": 128}, ("reasoning_effort",)),
        ("google/gemini-3-flash", "minimal", {"includeThoughts": True, "thinkingLevel": "minimal"}, ()),
        (
            "google/gemini-3-flash",
            "none",
            {"includeThoughts": False, "thinkingLevel": "minimal"},
            ("reasoning_effort",),
        ),
        ("google/gemini-3-pro", "medium", {"includeThoughts": True, "thinkingLevel": "high"}, ()),
        ("google/gemini-3-pro", "none", {"includeThoughts": False, "thinkingLevel": "low"}, ("reasoning_effort",)),
    ],
)
def test_reasoning_effort(
    model: GetModel, model_id: str, effort: str, thinking: dict[str, Any], adjusted: tuple[str, ...]
) -> None:
    body, got = build(model, model_id, reasoning_effort=effort)
    assert body["generationConfig"]["thinkingConfig"] == thinking
    assert got == adjusted


def test_budget_is_clamped_to_the_model_range(model: GetModel) -> None:
    from dataclasses import replace

    info = model("google/gemini-2.5-pro")
    info = replace(info, reasoning=replace(info.reasoning, budgets={"high": 99999, "low": 1}))
    for effort, budget in (("high", info.reasoning.max_budget), ("low", info.reasoning.min_budget)):
        built = build_request(ChatRequest(model=info.id, messages=HI, reasoning_effort=effort), info)  # type: ignore[arg-type]
        assert json.loads(built.body)["generationConfig"]["thinkingConfig"]["thinkingBudget"] == budget


def test_no_reasoning_effort_sends_no_thinking_config(model: GetModel) -> None:
    body, _ = build(model, "google/gemini-3-pro")
    assert "thinkingConfig" not in body["generationConfig"]


def test_reasoning_effort_on_a_model_without_reasoning_control(model: GetModel) -> None:
    from dataclasses import replace

    from opentoken.catalog.model import ReasoningSpec

    info = replace(model("google/gemini-2.5-flash"), reasoning=ReasoningSpec())
    with pytest.raises(UnsupportedParameter) as e:
        build_request(ChatRequest(model=info.id, messages=HI, reasoning_effort="high"), info)
    assert e.value.loc == ("reasoning_effort",)
    built = build_request(ChatRequest(model=info.id, messages=HI, reasoning_effort="none"), info)
    assert "thinkingConfig" not in json.loads(built.body)["generationConfig"]


# ---- tools ----

WEATHER = Tool(
    "get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
)
TIME = Tool("get_time", None, {"type": "object", "properties": {}})


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (None, None),
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (ToolChoice("function", "get_time"), {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
def test_tool_choice(model: GetModel, choice: ToolChoice | None, config: dict[str, Any] | None) -> None:
    body, _ = build(model, tools=(WEATHER, TIME), tool_choice=choice)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather", "parametersJsonSchema": WEATHER.parameters},
                {"name": "get_time"},
            ]
        }
    ]
    assert body.get("toolConfig") == ({"functionCallingConfig": config} if config else None)


def test_tool_choice_errors(model: GetModel) -> None:
    with pytest.raises(InvalidRequest) as e:
        build(model, tools=(WEATHER,), tool_choice=ToolChoice("function", "nope"))
    assert e.value.loc == ("tool_choice",)
    with pytest.raises(InvalidRequest) as e:
        build(model, tool_choice=ToolChoice("required"))
    assert e.value.loc == ("tool_choice",)
    body, _ = build(model, tool_choice=ToolChoice("none"))
    assert "toolConfig" not in body and "tools" not in body


def test_parallel_tool_calls_false_is_reported(model: GetModel) -> None:
    _, adjusted = build(model, tools=(WEATHER,), parallel_tool_calls=False)
    assert adjusted == ("parallel_tool_calls",)
    _, adjusted = build(model, tools=(WEATHER,), parallel_tool_calls=True)
    assert adjusted == ()


def test_tool_name_gemini_cannot_take(model: GetModel) -> None:
    with pytest.raises(UnsupportedParameter) as e:
        build(model, tools=(Tool("1st-tool"),))
    assert e.value.loc == ("tools", 0, "name")


# ---- messages ----


def test_system_messages_are_hoisted_and_roles_merged(model: GetModel) -> None:
    messages = (
        Message("system", (TextPart("Be terse."),)),
        Message("user", (TextPart("a"),)),
        Message("system", (TextPart("Use metric."),)),
        Message("user", (TextPart(""), TextPart("b"))),
        Message("assistant", (TextPart("c"),)),
        Message("assistant", ()),
        Message("assistant", (TextPart("d"),)),
        Message("user", ()),
        Message("user", (TextPart("e"),)),
    )
    body, _ = build(model, messages=messages)
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}, {"text": "Use metric."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
        {"role": "user", "parts": [{"text": "e"}]},
    ]


def test_only_system_messages_become_a_user_turn(model: GetModel) -> None:
    body, _ = build(model, messages=(Message("system", (TextPart("Say hi."),)), Message("user", (TextPart(""),))))
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hi."}]}]
    assert "systemInstruction" not in body
    with pytest.raises(InvalidRequest) as e:
        build(model, messages=(Message("user", (TextPart(""),)),))
    assert e.value.loc == ("messages",)


def test_media_goes_inline(model: GetModel) -> None:
    parts = (
        TextPart("look"),
        ImagePart(data="aW1n", media_type="image/png"),
        FilePart(data="cGRm", media_type="application/pdf", filename="a.pdf"),
        AudioPart(data="d2F2", format="wav"),
        AudioPart(data="bXAz", format="mp3"),
    )
    body, _ = build(model, messages=(Message("user", parts),))
    assert body["contents"][0]["parts"] == [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png", "data": "aW1n"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "cGRm"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "d2F2"}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "bXAz"}},
    ]


def test_image_with_only_a_url_is_rejected(model: GetModel) -> None:
    messages = (Message("user", (TextPart("x"), ImagePart(url="https://example.com/a.png"))),)
    with pytest.raises(InvalidRequest) as e:
        build(model, messages=messages)
    assert e.value.loc == ("messages", 0, "parts", 1)


def test_system_message_with_an_image_is_rejected(model: GetModel) -> None:
    messages = (Message("system", (ImagePart(data="x", media_type="image/png"),)), *HI)
    with pytest.raises(InvalidRequest) as e:
        build(model, messages=messages)
    assert e.value.loc == ("messages", 0, "parts", 0)


@pytest.mark.parametrize("arguments", ["[1]", "{bad", '"text"'])
def test_tool_call_arguments_must_be_a_json_object(model: GetModel, arguments: str) -> None:
    messages = (
        *HI,
        Message("assistant", tool_calls=(ToolCall("call_1", "f", arguments),)),
        Message("tool", (TextPart("ok"),), tool_call_id="call_1"),
    )
    with pytest.raises(InvalidRequest) as e:
        build(model, messages=messages)
    assert e.value.loc == ("messages", 1, "tool_calls", 0, "arguments")


def test_empty_arguments_are_an_empty_object(model: GetModel) -> None:
    messages = (
        *HI,
        Message("assistant", tool_calls=(ToolCall("call_1", "f", ""),)),
        Message("tool", (TextPart("ok"),), tool_call_id="call_1"),
    )
    body, _ = build(model, messages=messages)
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": {}}}]
