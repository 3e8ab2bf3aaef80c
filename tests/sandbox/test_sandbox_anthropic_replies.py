"""Simulated Anthropic replies have the recorded shapes, stream framing, usage and thinking signatures."""

from __future__ import annotations

import copy
import itertools
import json
import re
from typing import Any

import jsonschema

WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
TIME = {
    "name": "get_time",
    "description": "Get the current time",
    "input_schema": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
}
THINKING = {"type": "enabled", "budget_tokens": 1024}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 2048, "messages": [{"role": "user", "content": text}], **extra}


def shape(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Event names with consecutive deltas of one kind collapsed: the structure of a stream."""
    names = []
    for name, data in events:
        if name == "content_block_delta":
            name = f"delta:{data['delta']['type']}"
            if data["delta"] == {"type": "thinking_delta", "thinking": ""}:
                name = "delta:empty_thinking"
        if name == "content_block_start":
            name = f"start:{data['content_block']['type']}"
        names.append(name)
    return [k for k, _ in itertools.groupby(names)]


async def test_non_stream_text_has_the_recorded_keys(sbx, upstream) -> None:
    recorded = upstream("anthropic/nonstream_text.json")
    reply = await sbx.anthropic(recorded["request"]["body"])
    assert reply.status == 200
    body = reply.json()
    expected = recorded["response"]["body"]
    assert set(body) == set(expected)
    assert set(body["usage"]) == set(expected["usage"])
    assert body["id"].startswith("msg_") and body["type"] == "message" and body["role"] == "assistant"
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["content"][0]["type"] == "text" and "hello" in body["content"][0]["text"]
    assert reply.headers["request-id"].startswith("req_")


async def test_stream_text_matches_the_recorded_event_sequence(sbx, upstream) -> None:
    recorded = upstream("anthropic/stream_text.json")
    reply = await sbx.anthropic(recorded["request"]["body"])
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = reply.anthropic_events()
    expected = shape(recorded_events(recorded))
    assert shape(events) == expected
    assert sum(1 for name, _ in events if name == "content_block_delta") >= 3
    for name, data in events:
        assert data["type"] == name
    start = events[0][1]["message"]
    assert set(start) == set(recorded_events(recorded)[0][1]["message"])
    assert set(start["usage"]) == {
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
        "output_tokens", "service_tier", "inference_geo",
    }  # fmt: skip
    assert re.search(rb" +}\n", reply.text.encode()), "data lines are padded like the real API"


def recorded_events(recorded: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in recorded["response"]["body_text"].split("\n\n"):
        if block.strip():
            event, data = block.split("\n")
            out.append((event[len("event: ") :], json.loads(data[len("data: ") :])))
    return out


async def test_stream_thinking_tool_use_matches_the_recording(sbx, upstream) -> None:
    recorded = upstream("anthropic/stream_thinking_tool_use.json")
    reply = await sbx.anthropic(recorded["request"]["body"])
    assert reply.status == 200, reply.text
    events = reply.anthropic_events()
    assert shape(events) == shape(recorded_events(recorded))
    tool_start = next(d for n, d in events if n == "content_block_start" and d["content_block"]["type"] == "tool_use")
    assert tool_start["content_block"]["input"] == {}
    assert tool_start["content_block"]["caller"] == {"type": "direct"}
    first_json = next(d for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
    assert first_json["delta"]["partial_json"] == ""
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use"
    assert final["usage"]["output_tokens_details"]["thinking_tokens"] > 0


async def test_stream_folds_to_the_non_stream_reply(sbx) -> None:
    body = ask("Use get_weather and get_time for Oslo", tools=[WEATHER, TIME])
    plain = (await sbx.anthropic(body)).json()
    folded = (await sbx.anthropic({**body, "stream": True})).anthropic_message()
    assert folded["stop_reason"] == plain["stop_reason"] == "tool_use"
    assert folded["usage"] == plain["usage"]

    def strip_ids(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in block.items() if k != "id"} for block in content]

    assert strip_ids(folded["content"]) == strip_ids(plain["content"])


async def test_parallel_tool_calls_have_schema_valid_inputs(sbx) -> None:
    reply = (await sbx.anthropic(ask("Call get_weather and get_time please", tools=[WEATHER, TIME]))).json()
    calls = [b for b in reply["content"] if b["type"] == "tool_use"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert len({c["id"] for c in calls}) == 2 and all(c["id"].startswith("toolu_") for c in calls)
    schemas = {"get_weather": WEATHER["input_schema"], "get_time": TIME["input_schema"]}
    for call in calls:
        jsonschema.validate(call["input"], schemas[call["name"]])
    assert reply["content"][0]["type"] == "text"


async def test_parallel_count_and_disable_parallel(sbx) -> None:
    many = (await sbx.anthropic(ask("call 3 parallel get_weather lookups", tools=[WEATHER]))).json()
    assert [b["name"] for b in many["content"] if b["type"] == "tool_use"] == ["get_weather"] * 3
    single = ask("call get_weather and get_time", tools=[WEATHER, TIME])
    single["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
    one = (await sbx.anthropic(single)).json()
    assert len([b for b in one["content"] if b["type"] == "tool_use"]) == 1


async def test_forced_tool_choice_and_plain_prompts(sbx) -> None:
    forced = (
        await sbx.anthropic(ask("Hello", tools=[WEATHER, TIME], tool_choice={"type": "tool", "name": "get_time"}))
    ).json()
    assert [b["name"] for b in forced["content"] if b["type"] == "tool_use"] == ["get_time"]
    plain = (await sbx.anthropic(ask("Hello there", tools=[WEATHER]))).json()
    assert plain["stop_reason"] == "end_turn"
    assert all(b["type"] == "text" for b in plain["content"])


async def test_recorded_tool_result_followup_quotes_the_results(sbx, upstream) -> None:
    body = copy.deepcopy(upstream("anthropic/nonstream_tool_result_followup.json")["request"]["body"])
    reply = (await sbx.anthropic(body)).json()
    text = reply["content"][0]["text"]
    assert "daisy is bob's daughter and charlie's younger sister" in text
    assert reply["stop_reason"] == "end_turn"


async def thinking_tool_turn(sbx) -> tuple[dict[str, Any], dict[str, Any]]:
    body = ask("Use get_weather for Oslo", tools=[WEATHER], thinking=THINKING, max_tokens=4096)
    reply = (await sbx.anthropic(body)).json()
    assert reply["content"][0]["type"] == "thinking"
    return body, reply


def followup(body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
    tool_id = next(b["id"] for b in content if b["type"] == "tool_use")
    return {
        **body,
        "messages": [
            *body["messages"],
            {"role": "assistant", "content": content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "7C, sunny"}]},
        ],
    }


async def test_thinking_signature_round_trip_is_accepted(sbx) -> None:
    body, reply = await thinking_tool_turn(sbx)
    answer = await sbx.anthropic(followup(body, reply["content"]))
    assert answer.status == 200, answer.text
    assert "7C, sunny" in "".join(b.get("text", "") for b in answer.json()["content"])


async def test_tampered_thinking_is_rejected(sbx) -> None:
    body, reply = await thinking_tool_turn(sbx)
    signature = reply["content"][0]["signature"]
    tampered = copy.deepcopy(reply["content"])
    tampered[0]["signature"] = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    bad_signature = await sbx.anthropic(followup(body, tampered))
    assert bad_signature.status == 400
    assert bad_signature.json()["error"]["message"] == "messages.1.content.0: Invalid `signature` in `thinking` block"
    edited = copy.deepcopy(reply["content"])
    edited[0]["thinking"] += " (edited)"
    assert (await sbx.anthropic(followup(body, edited))).status == 400
    other = await sbx.anthropic(followup(body, reply["content"][1:]))
    assert other.status == 400
    assert "Expected `thinking` or `redacted_thinking`" in other.json()["error"]["message"]


async def test_signature_from_another_secret_is_rejected(start_sbx) -> None:
    from opentoken_sandbox.config import SandboxConfig

    first = await start_sbx(SandboxConfig(signing_secret=b"one"))
    second = await start_sbx(SandboxConfig(signing_secret=b"two"))
    body, reply = await thinking_tool_turn(first)
    assert (await second.anthropic(followup(body, reply["content"]))).status == 400


async def test_redacted_thinking_round_trip(sbx) -> None:
    body = ask("Use get_weather [[redacted_thinking]]", tools=[WEATHER], thinking=THINKING, max_tokens=4096)
    reply = (await sbx.anthropic(body)).json()
    assert reply["content"][0]["type"] == "redacted_thinking"
    assert (await sbx.anthropic(followup(body, reply["content"]))).status == 200
    stream = (await sbx.anthropic({**body, "stream": True})).anthropic_events()
    assert stream[1][1]["content_block"]["type"] == "redacted_thinking"


async def test_max_tokens_limit_and_marker(sbx) -> None:
    cut = (await sbx.anthropic(ask("Tell me something", max_tokens=7))).json()
    assert cut["stop_reason"] == "max_tokens"
    assert cut["usage"]["output_tokens"] == 7
    marked = (await sbx.anthropic(ask("Tell me something [[max_tokens]]"))).json()
    assert marked["stop_reason"] == "max_tokens"
    stream = (await sbx.anthropic(ask("Tell me something [[max_tokens]]", stream=True))).anthropic_message()
    assert stream["stop_reason"] == "max_tokens"
    assert stream["usage"]["output_tokens"] == marked["usage"]["output_tokens"]


async def test_stop_sequence_marker(sbx) -> None:
    listed = (await sbx.anthropic(ask("Go [[stop:HALT]]", stop_sequences=["HALT"]))).json()
    assert listed["stop_reason"] == "stop_sequence" and listed["stop_sequence"] == "HALT"
    assert "HALT" not in listed["content"][0]["text"]
    unlisted = (await sbx.anthropic(ask("Go [[stop:HALT]]"))).json()
    assert unlisted["stop_reason"] == "end_turn" and "HALT" in unlisted["content"][0]["text"]


async def test_refusal_marker(sbx) -> None:
    reply = (await sbx.anthropic(ask("Do something bad [[refusal]]"))).json()
    assert reply["stop_reason"] == "refusal"
    assert reply["stop_details"]["type"] == "refusal"
    stream = (await sbx.anthropic(ask("Do something bad [[refusal]]", stream=True))).anthropic_message()
    assert stream["stop_reason"] == "refusal"


async def test_structured_output_is_valid_against_the_schema(sbx, upstream) -> None:
    for name in ("anthropic/nonstream_structured_output.json", "anthropic/stream_structured_output.json"):
        body = upstream(name)["request"]["body"]
        reply = await sbx.anthropic(body)
        message = reply.anthropic_message() if body.get("stream") else reply.json()
        text = "".join(b["text"] for b in message["content"] if b["type"] == "text")
        jsonschema.validate(json.loads(text), body["output_config"]["format"]["schema"])


async def test_cache_control_writes_then_reads(sbx) -> None:
    system = [{"type": "text", "text": "Reference manual. " * 300, "cache_control": {"type": "ephemeral"}}]
    first = (await sbx.anthropic(ask("Question one", system=system))).json()["usage"]
    second = (await sbx.anthropic(ask("Question two, longer", system=system))).json()["usage"]
    assert first["cache_creation_input_tokens"] > 0 and first["cache_read_input_tokens"] == 0
    assert first["cache_creation"]["ephemeral_5m_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    stream = (await sbx.anthropic(ask("Question three", system=system, stream=True))).anthropic_events()
    assert stream[0][1]["message"]["usage"]["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    uncached = (
        await sbx.anthropic(ask("Question one", system=[{"type": "text", "text": "Reference manual. " * 300}]))
    ).json()
    total = first["input_tokens"] + first["cache_creation_input_tokens"]
    assert uncached["usage"]["input_tokens"] == total


async def test_input_tokens_count_system_and_tools(sbx) -> None:
    bare = (await sbx.anthropic(ask("Hello"))).json()["usage"]["input_tokens"]
    with_system = (await sbx.anthropic(ask("Hello", system="You are terse. " * 20))).json()["usage"]["input_tokens"]
    with_tools = (await sbx.anthropic(ask("Hello", tools=[WEATHER, TIME]))).json()["usage"]["input_tokens"]
    assert bare < with_system and bare < with_tools
