"""Requests built from canonical inputs have the shape of the recorded Anthropic requests.

Each case writes the canonical ``ChatRequest`` an OpenAI client would send for the recorded conversation,
builds the upstream request and compares the relevant keys of the recorded ``request.body``. Two
normalisations are applied to both sides: string content is the same as one text block, and a tool
result made only of text blocks is the same as that text as a string (both spellings are valid on the
wire). ``cache_control`` and ``is_error: false`` are removed: the canonical request has no prompt-caching
or tool-error flag. The thinking replay round trip (response -> ``Message.replay`` -> request) is here too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningEffort,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from opentoken.core.fold import fold_events
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.base import SSEEvent
from support.catalog import entry
from support.fixtures import ANTHROPIC
from support.views import view

FIXTURES = ANTHROPIC
CATALOG = load_catalog()


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def recorded_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = fixture(name)["request"]["body"]
    return body


def model(model_id: str, upstream: str | None = None) -> ModelInfo:
    info = entry(CATALOG, model_id)  # the entry itself, even if retired: these tests are about its translation
    assert info is not None
    return replace(info, upstream_model=upstream) if upstream else info


# ---- canonical message helpers ----


def user(*parts: str | TextPart | ImagePart) -> Message:
    return Message("user", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


def system(text: str) -> Message:
    return Message("system", (TextPart(text),))


def assistant(text: str | None = None, *calls: tuple[str, str, Any]) -> Message:
    tool_calls = tuple(ToolCall(id=i, name=n, arguments=json.dumps(a)) for i, n, a in calls)
    return Message("assistant", (TextPart(text),) if text else (), tool_calls=tool_calls)


def tool(call_id: str, text: str) -> Message:
    return Message("tool", (TextPart(text),), tool_call_id=call_id)


def recorded_tools(name: str) -> tuple[Tool, ...]:
    return tuple(
        Tool(name=t["name"], description=t.get("description"), parameters=t["input_schema"])
        for t in recorded_body(name)["tools"]
    )


def request(messages: list[Message], **kwargs: Any) -> ChatRequest:
    return ChatRequest(model="anthropic/x", messages=tuple(messages), **kwargs)


# ---- normalisation ----


def _norm_block(block: dict[str, Any]) -> dict[str, Any]:
    block = {k: v for k, v in block.items() if k != "cache_control" and not (k == "is_error" and v is False)}
    content = block.get("content")
    if block["type"] == "tool_result" and isinstance(content, list) and all(c["type"] == "text" for c in content):
        block["content"] = "".join(c["text"] for c in content)
    return block


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    if isinstance(out.get("system"), list):
        out["system"] = "\n".join(b["text"] for b in out["system"])
    messages = []
    for m in out.get("messages", []):
        content = m["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        messages.append({"role": m["role"], "content": [_norm_block(b) for b in blocks]})
    out["messages"] = messages
    return out


# ---- cases: fixture -> (canonical request, catalog model, keys compared) ----

Case = tuple[ChatRequest, ModelInfo, tuple[str, ...]]
CASES: dict[str, Callable[[], Case]] = {}
BASIC = ("model", "max_tokens", "messages", "stream")


def case(name: str) -> Callable[[Callable[[], Case]], Callable[[], Case]]:
    def register(fn: Callable[[], Case]) -> Callable[[], Case]:
        CASES[name] = fn
        return fn

    return register


@case("nonstream_text.json")
def _() -> Case:
    # top_k 40 has no OpenAI parameter
    return (
        request([user("hello")], max_tokens=4096, temperature=0.2),
        model("anthropic/claude-haiku-4-5"),
        (
            *BASIC,
            "temperature",
        ),
    )


@case("stream_text.json")
def _() -> Case:
    req = request([user("Say just hello")], max_tokens=8192, temperature=1.0, stream=True)
    return req, model("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001"), (*BASIC, "temperature")


@case("nonstream_stop_sequence.json")
def _() -> Case:
    text = 'What is the capital of France? Give me an answer that contains the word "Paris", but is not the first word.'
    req = request([user(text)], max_tokens=1024, stop=("Paris",))
    return req, model("anthropic/claude-sonnet-4-5"), (*BASIC, "stop_sequences")


def _family_history() -> list[Message]:
    return [
        system(recorded_body("nonstream_tool_use_parallel.json")["system"]),
        user("Alice, Bob, Charlie and Daisy are a family. Who is the youngest?"),
    ]


@case("nonstream_tool_use_parallel.json")
def _() -> Case:
    tools = recorded_tools("nonstream_tool_use_parallel.json")
    req = request(_family_history(), max_tokens=4096, tools=tools, tool_choice=ToolChoice("auto"))
    return req, model("anthropic/claude-haiku-4-5"), (*BASIC, "system", "tools", "tool_choice")


@case("nonstream_tool_result_followup.json")
def _() -> Case:
    ids = ["toolu_0167cfEnoQaPviGdVXA95zcu", "toolu_01EEe2V5HD1Ac4rKiUR4HD2T"]
    ids += ["toolu_01XFyAjstT3966qvRynZyVPo", "toolu_013mnQZbgtK2oe3Mo3XKJsx3"]
    names = ["Alice", "Bob", "Charlie", "Daisy"]
    results = ["alice is bob's wife", "bob is alice's husband", "charlie is alice's son"]
    results += ["daisy is bob's daughter and charlie's younger sister"]
    text = (
        "I'll help you find out who is the youngest by retrieving information about each family member. "
        "I'll retrieve their entity information to compare their ages."
    )
    calls = [(i, "retrieve_entity_info", {"name": n}) for i, n in zip(ids, names, strict=True)]
    history = [*_family_history(), assistant(text, *calls), *(tool(i, r) for i, r in zip(ids, results, strict=True))]
    tools = recorded_tools("nonstream_tool_result_followup.json")
    req = request(history, max_tokens=4096, tools=tools, tool_choice=ToolChoice("auto"))
    return req, model("anthropic/claude-haiku-4-5"), (*BASIC, "system", "tools", "tool_choice")


@case("nonstream_image_url_input.json")
def _() -> Case:
    url = recorded_body("nonstream_image_url_input.json")["messages"][0]["content"][1]["source"]["url"]
    req = request([user("What is this vegetable?", ImagePart(url=url))], max_tokens=4096)
    return req, model("anthropic/claude-haiku-4-5"), BASIC


@case("stream_image_base64_input.json")
def _() -> Case:
    data = recorded_body("stream_image_base64_input.json")["messages"][0]["content"][0]["source"]["data"]
    image = ImagePart(data=data, media_type="image/png")
    req = request([user(image, "Describe image in three words")], max_tokens=8192, temperature=1.0, stream=True)
    return req, model("anthropic/claude-sonnet-4-5"), (*BASIC, "temperature")


@case("error_529_overloaded_image_request.json")
def _() -> Case:
    data = recorded_body("error_529_overloaded_image_request.json")["messages"][0]["content"][1]["source"]["data"]
    req = request([user("What do you see?", ImagePart(data=data, media_type="image/jpeg"))], max_tokens=1024)
    return req, model("anthropic/claude-opus-4-1", "claude-3-opus-20240229"), ("model", "max_tokens", "messages")


def _thinking_case(model_info: ModelInfo, messages: list[Message], effort: ReasoningEffort, **kwargs: Any) -> Case:
    req = request(messages, reasoning_effort=effort, **kwargs)
    return req, model_info, (*BASIC, "thinking")


@case("nonstream_thinking.json")
def _() -> Case:
    messages = [user("How do I cross the street?")]
    return _thinking_case(model("anthropic/claude-sonnet-4-5"), messages, "low", max_tokens=4096)


@case("nonstream_thinking_redacted.json")
def _() -> Case:
    text = recorded_body("nonstream_thinking_redacted.json")["messages"][0]["content"][0]["text"]
    info = model("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
    return _thinking_case(info, [user(text)], "minimal", max_tokens=4096)


@case("nonstream_thinking_multiturn.json")
def _() -> Case:
    # the replay state is what parse_response returned for the first turn (nonstream_thinking.json)
    first = view(
        PROVIDER.parse_response(
            json.dumps(fixture("nonstream_thinking.json")["response"]["body"]).encode(),
            model("anthropic/claude-sonnet-4-5"),
        )
    ).choices[0]
    messages = [
        user("How do I cross the street?"),
        Message("assistant", (TextPart(first.content or ""),), replay=first.replay),
        user("Considering the way to cross the street, analogously, how do I cross the river?"),
    ]
    return _thinking_case(model("anthropic/claude-sonnet-4-5"), messages, "low", max_tokens=4096)


@case("stream_thinking.json")
def _() -> Case:
    # the recording also sends temperature 1.0, the only value allowed while thinking; the adapter omits it
    info = model("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001")
    messages = [user("Two names for a pet pelican, be brief")]
    return _thinking_case(info, messages, "low", max_tokens=8192, temperature=1.0, stream=True)


@case("nonstream_adaptive_thinking_opus46.json")
def _() -> Case:
    req = request([user("What is 2+2?")], max_tokens=4096, reasoning_effort="high")
    return req, model("anthropic/claude-opus-4-6"), (*BASIC, "thinking")


@case("nonstream_adaptive_thinking_effort_opus5.json")
def _() -> Case:
    # claude-opus-5 is not in the packaged catalog: an operator entry whose effort table allows xhigh
    info = model("anthropic/claude-opus-4-6", "claude-opus-5")
    info = replace(info, reasoning=replace(info.reasoning, levels={**info.reasoning.levels, "xhigh": "xhigh"}))
    req = request([user("What is 2+2?")], max_tokens=4096, reasoning_effort="xhigh")
    return req, info, (*BASIC, "output_config")


@case("nonstream_structured_output.json")
def _() -> Case:
    schema = recorded_body("nonstream_structured_output.json")["output_config"]["format"]["schema"]
    fmt = ResponseFormat("json_schema", name="CityLocation", schema=schema, strict=True)
    req = request([user("Tell me about London")], max_tokens=4096, response_format=fmt)
    return req, model("anthropic/claude-sonnet-4-5"), (*BASIC, "output_config")


@case("stream_structured_output.json")
def _() -> Case:
    schema = recorded_body("stream_structured_output.json")["output_config"]["format"]["schema"]
    fmt = ResponseFormat("json_schema", name="Dog", schema=schema)
    req = request([user("Invent a good dog")], max_tokens=8192, temperature=1.0, stream=True, response_format=fmt)
    return req, model("anthropic/claude-opus-4-6"), (*BASIC, "output_config", "temperature")


def _cache_case(name: str, question: str, stream: bool) -> Case:
    recorded = recorded_body(name)["system"][0]["text"]
    req = request([system(recorded), user(question)], max_tokens=100, stream=stream)
    keys = ("model", "max_tokens", "messages", "system") + (("stream",) if stream else ())
    return req, model("anthropic/claude-sonnet-4-5", "claude-sonnet-4-20250514"), keys


@case("nonstream_max_tokens_cache_write.json")
def _() -> Case:
    question = "What are the key principles for designing scalable systems?"
    return _cache_case("nonstream_max_tokens_cache_write.json", question, False)


@case("nonstream_max_tokens_cache_read.json")
def _() -> Case:
    return _cache_case("nonstream_max_tokens_cache_read.json", "What is a system", False)


@case("stream_max_tokens_cache_read.json")
def _() -> Case:
    return _cache_case("stream_max_tokens_cache_read.json", "What is a system", True)


OPUS3 = ("anthropic/claude-opus-4-1", "claude-3-opus-20240229")
WEATHER_Q = "What is the weather in San Francisco, CA?"


@case("stream_tool_use.json")
def _() -> Case:
    req = request([user(WEATHER_Q)], max_tokens=200, stream=True, tools=recorded_tools("stream_tool_use.json"))
    return req, model(*OPUS3), (*BASIC, "tools")


@case("stream_tool_result_followup.json")
def _() -> Case:
    text = recorded_body("stream_tool_result_followup.json")["messages"][1]["content"][0]["text"]
    call = ("toolu_01UiyhG7tywQKaqdgxyqa8z9", "get_weather", {"location": "San Francisco, CA"})
    # the recording answers a different tool_use id than the call (two cassettes); kept as recorded
    history = [user(WEATHER_Q), assistant(text, call), tool("toolu_01DYJo37oETVsCdLTTcCWcdq", "The weather is 73f")]
    tools = recorded_tools("stream_tool_result_followup.json")
    return request(history, max_tokens=500, stream=True, tools=tools), model(*OPUS3), (*BASIC, "tools")


def _calculator_history() -> list[Message]:
    text = recorded_body("error_429_rate_limit.json")["messages"][1]["content"][0]["text"]
    call = ("toolu_01EtZG1zaJKx1Aghi8f9AtiT", "calculator", {"expression": "1984135 * 9343116"})
    question = "What is the result of 1,984,135 * 9,343,116?"
    return [user(question), assistant(text, call), tool("toolu_01EtZG1zaJKx1Aghi8f9AtiT", "18538003464660")]


@case("error_429_rate_limit.json")
def _() -> Case:
    req = request(_calculator_history(), max_tokens=500, tools=recorded_tools("error_429_rate_limit.json"))
    return req, model(*OPUS3), ("model", "max_tokens", "messages", "tools")


@case("error_529_overloaded.json")
def _() -> Case:
    req = request(_calculator_history(), max_tokens=500, tools=recorded_tools("error_529_overloaded.json"))
    return req, model(*OPUS3), ("model", "max_tokens", "messages", "tools")


FIXED_Q = "Use the fixed_version tool. Then tell me the version and make one short joke about it."


@case("stream_tool_use_no_args.json")
def _() -> Case:
    tools = recorded_tools("stream_tool_use_no_args.json")
    req = request([user(FIXED_Q)], max_tokens=64000, temperature=1.0, stream=True, tools=tools)
    return req, model("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001"), (*BASIC, "tools", "temperature")


@case("stream_tool_result_followup_no_args.json")
def _() -> Case:
    history = [
        user(FIXED_Q),
        assistant(None, ("toolu_01UmKD1vMphVCN9vw8PEMk1q", "fixed_version", {})),
        tool("toolu_01UmKD1vMphVCN9vw8PEMk1q", "0.32a0"),
    ]
    tools = recorded_tools("stream_tool_result_followup_no_args.json")
    req = request(history, max_tokens=64000, temperature=1.0, stream=True, tools=tools)
    return req, model("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001"), (*BASIC, "tools", "temperature")


@case("stream_tool_use_parallel.json")
def _() -> Case:
    text = recorded_body("stream_tool_use_parallel.json")["messages"][0]["content"]
    req = request([user(text)], max_tokens=1024, stream=True, tools=recorded_tools("stream_tool_use_parallel.json"))
    return req, model("anthropic/claude-sonnet-4-6"), (*BASIC, "tools")


@case("error_401_authentication.json")
def _() -> Case:
    # two consecutive user messages merge into one user turn with two text blocks
    history = [
        system("Respond only in all caps."),
        user("Hello, I am looking for information about some books!"),
        user("What is the best selling book?"),
    ]
    req = request(history, max_tokens=15, temperature=0.8)
    return req, model(*OPUS3), ("model", "max_tokens", "messages", "system", "temperature")


@case("error_404_model_not_found.json")
def _() -> Case:
    return request([user("hello")], max_tokens=4096), model("anthropic/claude-sonnet-4-5", "claude-sonet-4-5"), BASIC


@case("error_400_prompt_too_long.json")
def _() -> Case:
    text = recorded_body("error_400_prompt_too_long.json")["messages"][0]["content"][0]["text"]
    return request([user(text)], max_tokens=4096), model("anthropic/claude-haiku-4-5"), BASIC


# Recorded requests that are deliberately not reproduced, and why (each is covered by its own test below).
NOT_REPRODUCED = {
    "error_400_invalid_shape.json": "the recorded body is malformed on purpose (a bare string as a message)",
    "error_400_invalid_request.json": "it asks opus-4-6 for effort 'xhigh', which the catalog maps to 'high'",
    "error_500_api_error.json": "it uses the retired output_format beta; the adapter sends output_config.format",
    "stream_thinking_tool_use.json": "compared below without the newer thinking.display field",
}


def test_every_fixture_request_is_considered() -> None:
    assert set(CASES) | set(NOT_REPRODUCED) == {p.name for p in FIXTURES.glob("*.json")}
    assert not set(CASES) & set(NOT_REPRODUCED)


def build(req: ChatRequest, info: ModelInfo) -> dict[str, Any]:
    upstream = PROVIDER.build_request(req, info)
    assert upstream.path == "/v1/messages"
    assert upstream.stream is req.stream
    assert upstream.headers["anthropic-version"] == "2023-06-01"
    assert upstream.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(upstream.body)
    return body


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_has_recorded_shape(name: str) -> None:
    req, info, keys = CASES[name]()
    got, want = normalise(build(req, info)), normalise(recorded_body(name))
    for key in keys:
        assert key in want, f"{name}: the recording has no {key!r}"
        assert got.get(key) == want[key], key


def test_thinking_with_tool_use_shape() -> None:
    name = "stream_thinking_tool_use.json"
    want = recorded_body(name)
    text = FIXED_Q + " Think about it first."
    req = request([user(text)], max_tokens=64000, stream=True, tools=recorded_tools(name), reasoning_effort="low")
    got = build(req, model("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001"))
    assert got["thinking"] == {k: v for k, v in want["thinking"].items() if k != "display"}
    for key in ("model", "max_tokens", "messages", "tools", "stream"):
        assert normalise(got)[key] == normalise(want)[key]


def test_effort_xhigh_on_opus_4_6_is_not_the_recorded_rejected_value() -> None:
    recorded = recorded_body("error_400_invalid_request.json")
    assert recorded["output_config"] == {"effort": "xhigh"}  # what Anthropic rejected with a 400
    body = build(
        request([user("What is 2+2?")], max_tokens=4096, reasoning_effort="xhigh"), model("anthropic/claude-opus-4-6")
    )
    assert body["output_config"] == {"effort": "high"}
    assert body["thinking"] == {"type": "adaptive"}


def test_structured_output_uses_output_config_not_retired_beta() -> None:
    recorded = recorded_body("error_500_api_error.json")
    schema = recorded["output_format"]["schema"]
    req = request(
        [user(recorded["messages"][0]["content"])],
        max_tokens=1024,
        response_format=ResponseFormat("json_schema", schema=schema),
    )
    body = build(req, model("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929"))
    assert "output_format" not in body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


# ---- thinking replay round trips ----


def test_replay_round_trip_redacted() -> None:
    info = model("anthropic/claude-sonnet-4-5")
    reply = fixture("nonstream_thinking_redacted.json")["response"]["body"]
    choice = view(PROVIDER.parse_response(json.dumps(reply).encode(), info)).choices[0]
    history = [user("hi"), Message("assistant", (TextPart(choice.content or ""),), replay=choice.replay), user("and?")]
    body = build(request(history, reasoning_effort="low"), info)
    assert body["messages"][1]["content"][0] == reply["content"][0]  # redacted_thinking, data byte for byte
    assert body["messages"][1]["content"][1] == {"type": "text", "text": reply["content"][1]["text"]}


def _sse(text: str) -> list[SSEEvent]:
    events = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        data = [line[5:].strip() for line in lines if line.startswith("data:")]
        if data:
            events.append(SSEEvent("\n".join(data)))
    return events


def test_replay_round_trip_from_a_stream_with_tool_call() -> None:
    info = model("anthropic/claude-haiku-4-5")
    decoder = PROVIDER.stream_decoder(info)
    events = [
        e for s in _sse(fixture("stream_thinking_tool_use.json")["response"]["body_text"]) for e in decoder.feed(s)
    ]
    choice = view(fold_events([*events, *decoder.close()])).choices[0]
    (call,) = choice.tool_calls
    history = [
        user(FIXED_Q),
        Message("assistant", (), tool_calls=(call,), replay=choice.replay),
        tool(call.id, "0.32a0"),
    ]
    body = build(request(history, reasoning_effort="low", tools=recorded_tools("stream_thinking_tool_use.json")), info)
    thinking, tool_use = body["messages"][1]["content"]
    assert thinking["type"] == "thinking"
    assert thinking["signature"].startswith("EoQDCm0IDhgCKkCDzGs2kL2Pgn") and thinking["signature"].endswith("SBwUxgB")
    assert thinking["thinking"] == choice.reasoning
    assert tool_use == {"type": "tool_use", "id": call.id, "name": "fixed_version", "input": {}}
    assert body["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": call.id, "content": "0.32a0"}]


def test_other_providers_replay_state_is_ignored() -> None:
    from opentoken.core.chat import ReplayState

    foreign = ReplayState(provider="gemini", data=json.dumps({"signatures": ["x"]}))
    history = [user("hi"), Message("assistant", (TextPart("hello"),), replay=foreign), user("again")]
    body = build(request(history), model("anthropic/claude-sonnet-4-5"))
    assert body["messages"][1]["content"] == [{"type": "text", "text": "hello"}]


def test_image_data_is_passed_through() -> None:
    data = base64.b64encode(b"\x89PNG fake").decode()
    body = build(request([user(ImagePart(data=data, media_type="image/png"))]), model("anthropic/claude-sonnet-4-5"))
    assert body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    ]
