"""One cross-provider conformance suite: the same scenarios through the gateway for every provider.

Real processes on 127.0.0.1 (gateway + sandbox upstream), the official ``openai`` SDK as the client, and every
response body / SSE chunk validated against the official OpenAI schemas by the ``client`` fixture.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import openai
import pytest

MODELS = ["anthropic/claude-sonnet-4-6", "google/gemini-3-flash"]  # retired ids: tests/e2e/test_catalog_lifecycle.py
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f80f0000010100005f1a0e2a0000000049454e44ae426082"
    )
).decode()
pytestmark = pytest.mark.parametrize("model", MODELS)


def _chunks(stream: Any) -> list[Any]:
    return list(stream)


def test_simple_call(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "Name three uses for a paperclip."},
        ],
    )
    assert resp.object == "chat.completion"
    assert resp.model == model
    assert resp.id.startswith("chatcmpl-")
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert "paperclip" in (choice.message.content or "")
    assert choice.message.tool_calls is None
    usage = resp.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    extra = usage.model_extra or {}
    assert float(extra["cost"]) > 0


def test_multi_turn(client: openai.OpenAI, model: str) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name three uses for a paperclip."},
    ]
    first = client.chat.completions.create(model=model, messages=messages)
    messages.append(first.choices[0].message)
    messages.append({"role": "user", "content": "Which is the most common?"})
    second = client.chat.completions.create(model=model, messages=messages)
    assert "most common" in (second.choices[0].message.content or "")
    assert second.usage is not None and first.usage is not None
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_stream_with_usage_matches_non_stream(client: openai.OpenAI, model: str) -> None:
    messages: list[Any] = [{"role": "user", "content": "Tell me about streaming in a few sentences."}]
    whole = client.chat.completions.create(model=model, messages=messages)
    chunks = _chunks(
        client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_usage_has_no_usage_chunk(client: openai.OpenAI, model: str) -> None:
    chunks = _chunks(
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert chunks[-1].choices and chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_single_tool_call(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Use get_weather for Oslo."}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    assert calls[0].function.name == "get_weather"
    args = json.loads(calls[0].function.arguments)
    assert isinstance(args["city"], str)
    assert calls[0].id


def test_forced_tool_choice(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What now?"}],
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    calls = resp.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_time"]


def test_three_parallel_tool_calls(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Call get_weather with three parallel calls for three cities."}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    calls = resp.choices[0].message.tool_calls or []
    assert len(calls) == 3
    assert len({c.id for c in calls}) == 3
    assert resp.choices[0].message.content is None or isinstance(resp.choices[0].message.content, str)
    for c in calls:
        assert "city" in json.loads(c.function.arguments)


def test_three_parallel_tool_calls_streamed(client: openai.OpenAI, model: str) -> None:
    chunks = _chunks(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Call get_weather with three parallel calls for three cities."}],
            tools=[WEATHER],  # type: ignore[list-item]
            stream=True,
        )
    )
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"ids": [], "names": [], "args": ""})
            if delta.id:
                entry["ids"].append(delta.id)
            if delta.function and delta.function.name:
                entry["names"].append(delta.function.name)
            if delta.function and delta.function.arguments:
                entry["args"] += delta.function.arguments
    assert sorted(calls) == [0, 1, 2]
    for entry in calls.values():
        assert len(entry["ids"]) == 1 and entry["names"] == ["get_weather"]
        assert "city" in json.loads(entry["args"])
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("effort", [None, "high"])  # adaptive thinking may skip a low-effort turn
def test_tool_loop(client: openai.OpenAI, model: str, effort: str | None) -> None:
    """Three turns: the model calls two tools, gets the results, answers; reasoning on keeps working."""
    extra: dict[str, Any] = {"reasoning_effort": effort} if effort else {}
    messages: list[Any] = [{"role": "user", "content": "Call get_weather and get_time for Oslo."}]
    tools: Any = [WEATHER, TIME]
    first = client.chat.completions.create(model=model, messages=messages, tools=tools, **extra)
    calls = first.choices[0].message.tool_calls or []
    assert {c.function.name for c in calls} == {"get_weather", "get_time"}
    if effort:
        assert (first.choices[0].message.model_extra or {}).get("reasoning_content")
    messages.append(first.choices[0].message.model_dump(exclude_none=True, exclude={"reasoning_content"}))
    for c in calls:
        messages.append({"role": "tool", "tool_call_id": c.id, "content": f"result of {c.function.name}: 3C"})
    second = client.chat.completions.create(model=model, messages=messages, tools=tools, **extra)
    text = second.choices[0].message.content or ""
    assert "result of get_weather: 3C" in text and "result of get_time: 3C" in text
    messages.append({"role": "assistant", "content": text})
    messages.append({"role": "user", "content": "Now use get_weather for Bergen."})
    third = client.chat.completions.create(model=model, messages=messages, tools=tools, **extra)
    assert third.choices[0].finish_reason == "tool_calls"


def test_image_data_url(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
                ],
            }
        ],
    )
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.prompt_tokens > 0


def test_stop_sequence(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say something [[stop:XYZ]]"}], stop=["XYZ"]
    )
    content = resp.choices[0].message.content or ""
    assert resp.choices[0].finish_reason == "stop"
    assert "XYZ" not in content and content


def test_max_tokens(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Write a long essay about rivers."}], max_tokens=5
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens <= 5


def test_json_schema_output(client: openai.OpenAI, model: str) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Give me a person."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    value = json.loads(resp.choices[0].message.content or "")
    assert isinstance(value["name"], str) and isinstance(value["age"], int)


def test_mid_stream_error(client: openai.OpenAI, model: str) -> None:
    # after 5 upstream events text has reached the client (an error before any content would be retried)
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Tell a story [[fault:after_events=5]]"}], stream=True
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_upstream_rate_limit_is_429_with_retry_after(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi [[fault:status=429]]"}])
    assert info.value.response.headers.get("retry-after")


@pytest.mark.parametrize(
    ("status", "expected"), [(500, 502), (503, 503), (401, 502), (403, 502), (400, 400), (404, 404)]
)
def test_upstream_errors_map(client: openai.OpenAI, model: str, status: int, expected: int) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"hi [[fault:status={status}]]"}]
        )
    assert info.value.status_code == expected
    body = info.value.response.json()
    assert "test-secret" not in json.dumps(body)
    if status in (401, 403):
        assert "credential" in body["error"]["message"].lower()


def test_models_list_and_retrieve(client: openai.OpenAI, model: str) -> None:
    ids = [m.id for m in client.models.list()]
    assert model in ids
    got = client.models.retrieve(model)
    assert got.id == model
    extra = got.model_extra or {}
    assert extra["context_length"] > 0 and "pricing" in extra and "capabilities" in extra
