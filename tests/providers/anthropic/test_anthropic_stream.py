"""Recorded Anthropic SSE streams -> canonical events (every stream_* fixture).

For each recorded stream, the decoded events are folded and compared with ``parse_response`` of the
non-stream message rebuilt from the same raw events by an independent reconstruction written here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import (
    UpstreamBadRequest,
    UpstreamOverloaded,
    UpstreamProtocolError,
    UpstreamRateLimited,
)
from opentoken.core.fold import fold_events
from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    ReplayUpdate,
    StreamEvent,
    StreamStart,
    Usage,
    UsageUpdate,
)
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.base import SSEEvent
from support.catalog import entry
from support.fixtures import ANTHROPIC
from support.views import view

FIXTURES = ANTHROPIC


def sse_events(text: str) -> list[SSEEvent]:
    """Split a raw SSE body into events (``event:`` name, ``data:`` lines joined by newlines)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append(SSEEvent(data="\n".join(data), event=name))
    return events


def reconstruct_message(events: list[SSEEvent]) -> bytes:
    """Rebuild the non-stream ``Message`` JSON an Anthropic reply would have had, from raw stream events."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, list[str]] = {}
    for event in events:
        data = json.loads(event.data)
        kind = data["type"]
        if kind == "message_start":
            message = data["message"]
        elif kind == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
            partial[data["index"]] = []
        elif kind == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            field = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}
            if delta["type"] == "input_json_delta":
                partial[data["index"]].append(delta["partial_json"])
            elif delta["type"] in field:
                key = field[delta["type"]]
                block[key] = block.get(key, "") + delta[key]
        elif kind == "content_block_stop":
            block = blocks[data["index"]]
            if block["type"] == "tool_use" and "".join(partial[data["index"]]):
                block["input"] = json.loads("".join(partial[data["index"]]))
        elif kind == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["stop_sequence"] = data["delta"].get("stop_sequence")
            message["usage"].update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return json.dumps(message, ensure_ascii=False).encode()


def _raw_stream(name: str) -> list[SSEEvent]:
    return sse_events(json.loads((FIXTURES / name).read_text("utf-8"))["response"]["body_text"])


def decode(model: ModelInfo, events: list[SSEEvent]) -> list[StreamEvent]:
    decoder = PROVIDER.stream_decoder(model)
    out: list[StreamEvent] = []
    for event in events:
        out.extend(decoder.feed(event))
    out.extend(decoder.close())
    return out


@pytest.fixture(scope="module")
def model() -> ModelInfo:
    return entry(load_catalog(), "anthropic/claude-sonnet-4-5")


STREAMS = sorted(p.name for p in FIXTURES.glob("stream_*.json"))


def test_there_are_stream_fixtures() -> None:
    assert len(STREAMS) == 11


@pytest.mark.parametrize("name", STREAMS)
def test_fold_equals_non_stream_parse(name: str, model: ModelInfo) -> None:
    raw = _raw_stream(name)
    folded = fold_events(decode(model, raw))
    assert folded == PROVIDER.parse_response(reconstruct_message(raw), model)


@pytest.mark.parametrize("name", STREAMS)
def test_event_order(name: str, model: ModelInfo) -> None:
    events = decode(model, _raw_stream(name))
    assert isinstance(events[0], StreamStart)
    assert isinstance(events[1], UsageUpdate)
    assert isinstance(events[-2], Finish)
    assert isinstance(events[-1], UsageUpdate)
    assert sum(isinstance(e, Finish) for e in events) == 1
    blocks = [e for e in events if isinstance(e, BlockStart | BlockDelta | BlockStop)]
    assert all(e.candidate == 0 for e in blocks)
    starts = [e.index for e in blocks if isinstance(e, BlockStart)]
    assert starts == list(range(len(starts)))  # canonical indices, in order
    assert [e.index for e in blocks if isinstance(e, BlockStop)] == starts  # each block closes, in order
    for e in blocks:  # deltas only inside their open block
        if isinstance(e, BlockDelta):
            assert e.index in starts[: starts.index(e.index) + 1]


# file -> (id, model, finish, usage, content (None = null), reasoning start (None = none), tool calls)
EXPECTED: dict[str, tuple[Any, ...]] = {
    "stream_text.json": (
        "msg_01T8kTq7cYyYJeQ5DxcVUc6D",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(10, 0, 0, 4, 0),
        "Hello",
        None,
        [],
    ),
    "stream_image_base64_input.json": (
        "msg_015uV9WrrY9nhNRUqWuTcEtm",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(83, 0, 0, 9, 0),
        "Red square, green square.",
        None,
        [],
    ),
    "stream_max_tokens_cache_read.json": (
        "msg_01RprQMTVaxMt5KCveLCRfwJ",
        "claude-sonnet-4-20250514",
        "length",
        Usage(11, 1031, 0, 100, 0),
        "A **system** is an organized collection of interconnected components",
        None,
        [],
    ),
    "stream_structured_output.json": (
        "msg_01RiZf5w2bQ3qPCnAETmsdqt",
        "claude-opus-4-6",
        "stop",
        Usage(231, 0, 0, 118, 0),
        '{"name":"Biscuit","age":4,',
        None,
        [],
    ),
    "stream_thinking.json": (
        "msg_01Eg56TYRnKCEgWtZu2yjR1t",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(46, 0, 0, 133, 0),
        '1. **Pouch** - references their iconic bill pouch\n2. **Pelé** - playful take on "pelican"',
        "The user wants two names for a pet pelican",
        [],
    ),
    "stream_thinking_tool_use.json": (
        "msg_01JdU4xqNHXL9QCFWkwCDKGr",
        "claude-haiku-4-5-20251001",
        "tool_calls",
        Usage(598, 0, 0, 92, 53),
        None,
        "The user wants me to:\n1. Use the fixed_version tool",
        [("toolu_01825dXWLSoJwCst1qTsiWdb", "fixed_version", "{}")],
    ),
    "stream_tool_use.json": (
        "msg_01RQXWh4UaLp6wsR9R8i8RZ3",
        "claude-3-opus-20240229",
        "tool_calls",
        Usage(599, 0, 0, 135, 0),
        "<thinking>\nThe get_weather tool is relevant",
        None,
        [("toolu_01DYJo37oETVsCdLTTcCWcdq", "get_weather", '{"location": "San Francisco, CA"}')],
    ),
    "stream_tool_use_no_args.json": (
        "msg_01JkKGRKoYijkdjA9GZkPyBG",
        "claude-haiku-4-5-20251001",
        "tool_calls",
        Usage(563, 0, 0, 37, 0),
        None,
        None,
        [("toolu_01UmKD1vMphVCN9vw8PEMk1q", "fixed_version", "{}")],
    ),
    "stream_tool_use_parallel.json": (
        "msg_01JqiwuyYfmoZBJx1GLkqxLf",
        "claude-sonnet-4-6",
        "tool_calls",
        Usage(721, 0, 0, 113, 0),
        "I'll check both the current weather and time in New York simultaneously right away!",
        None,
        [
            ("toolu_01Mo5Ee5Yb7vrzaxSNS5DVuP", "get_weather", '{"location": "New York, NY"}'),
            ("toolu_01GDAGw1KUdi1DCPPprMKGHR", "get_time", '{"timezone": "America/New_York"}'),
        ],
    ),
    "stream_tool_result_followup.json": (
        "msg_01UUB8LLiutL1Dcab37GrnXk",
        "claude-3-opus-20240229",
        "stop",
        Usage(762, 0, 0, 33, 0),
        "\n\nBased on the result from the get_weather tool, the current weather in San Francisco, CA is 73°F",
        None,
        [],
    ),
    "stream_tool_result_followup_no_args.json": (
        "msg_01YCYWvfbPCQ6d3brBEd45iz",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(617, 0, 0, 41, 0),
        "The version is **0.32a0**.",
        None,
        [],
    ),
}


def test_every_stream_fixture_has_expectations() -> None:
    assert set(EXPECTED) == set(STREAMS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_stream_values(name: str, model: ModelInfo) -> None:
    msg_id, upstream, finish, usage, content, reasoning, calls = EXPECTED[name]
    result = fold_events(decode(model, _raw_stream(name)))
    assert (result.id, result.upstream_model, result.usage) == (msg_id, upstream, usage)
    (choice,) = view(result).choices
    assert choice.finish_reason == finish
    if content is None:
        assert choice.content is None
    else:
        assert choice.content is not None and choice.content.startswith(content)
    if reasoning is None:
        assert choice.reasoning is None and choice.replay is None
    else:
        assert choice.reasoning is not None and choice.reasoning.startswith(reasoning)
        assert choice.replay is not None and choice.replay.provider == "anthropic"
    assert [(c.id, c.name, c.arguments) for c in choice.tool_calls] == calls


def test_tool_calls_are_blocks_in_order(model: ModelInfo) -> None:
    events = decode(model, _raw_stream("stream_tool_use_parallel.json"))
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.index, s.kind, s.name) for s in starts] == [
        (0, "text", ""),
        (1, "tool_call", "get_weather"),
        (2, "tool_call", "get_time"),
    ]
    deltas = [e for e in events if isinstance(e, BlockDelta) and e.index == 2]
    assert all(d.text for d in deltas)  # empty fragments are skipped
    assert "".join(d.text for d in deltas) == '{"timezone": "America/New_York"}'


def test_thinking_signature_is_replayed_exactly(model: ModelInfo) -> None:
    raw = _raw_stream("stream_thinking.json")
    signature = "".join(json.loads(e.data)["delta"]["signature"] for e in raw if '"signature_delta"' in e.data)
    events = decode(model, raw)
    (update,) = [e for e in events if isinstance(e, ReplayUpdate)]
    (block,) = json.loads(update.replay.data)
    assert block["type"] == "thinking"
    assert block["signature"] == signature and len(signature) > 100
    thinking = {e.index for e in events if isinstance(e, BlockStart) and e.kind == "thinking"}
    assert block["thinking"] == "".join(e.text for e in events if isinstance(e, BlockDelta) and e.index in thinking)


def test_usage_update_at_start_has_input_counts(model: ModelInfo) -> None:
    events = decode(model, _raw_stream("stream_max_tokens_cache_read.json"))
    assert events[1] == UsageUpdate(Usage(input_tokens=11, cache_read_tokens=1031, output_tokens=1))
    assert events[-1] == UsageUpdate(Usage(input_tokens=11, cache_read_tokens=1031, output_tokens=100))


# ---- synthetic streams ----


def _ev(data: dict[str, Any]) -> SSEEvent:
    return SSEEvent(data=json.dumps(data, ensure_ascii=False), event=data["type"])


START = _ev(
    {
        "type": "message_start",
        "message": {
            "id": "msg_s",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 4, "output_tokens": 1},
        },
    }
)
STOP = _ev({"type": "message_stop"})


def _delta(index: int, delta: dict[str, Any]) -> SSEEvent:
    return _ev({"type": "content_block_delta", "index": index, "delta": delta})


def _start(index: int, block: dict[str, Any]) -> SSEEvent:
    return _ev({"type": "content_block_start", "index": index, "content_block": block})


def _stop(index: int) -> SSEEvent:
    return _ev({"type": "content_block_stop", "index": index})


def _message_delta(stop_reason: str, usage: dict[str, Any]) -> SSEEvent:
    return _ev({"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": usage})


def test_ping_and_unknown_events_are_ignored(model: ModelInfo) -> None:
    events = [
        START,
        SSEEvent(data='{"type": "ping"}', event="ping"),
        SSEEvent(data='{"type": "some_future_event", "x": 1}', event="some_future_event"),
        _start(0, {"type": "text", "text": ""}),
        _delta(0, {"type": "text_delta", "text": "hi"}),
        _delta(0, {"type": "citations_delta", "citation": {"type": "char_location"}}),
        _stop(0),
        _message_delta("end_turn", {"output_tokens": 3}),
        STOP,
    ]
    out = decode(model, events)
    assert [e for e in out if isinstance(e, BlockStart | BlockDelta | BlockStop)] == [
        BlockStart(0, "text"),
        BlockDelta(0, "hi"),
        BlockStop(0),
    ]
    assert view(fold_events(out)).choices[0].content == "hi"


def test_later_non_null_usage_overrides(model: ModelInfo) -> None:
    events = [
        START,
        _message_delta(
            "end_turn",
            {
                "output_tokens": 9,
                "input_tokens": 12,
                "cache_read_input_tokens": None,
                "cache_creation_input_tokens": 2,
                "output_tokens_details": {"thinking_tokens": 5},
            },
        ),
        STOP,
    ]
    out = decode(model, events)
    assert out[-1] == UsageUpdate(Usage(12, 4, 2, 9, 5))


def test_error_event_raises_mapped_error(model: ModelInfo) -> None:
    decoder = PROVIDER.stream_decoder(model)
    decoder.feed(START)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamOverloaded):
        decoder.feed(_ev(error))
    decoder = PROVIDER.stream_decoder(model)
    with pytest.raises(UpstreamRateLimited):
        decoder.feed(_ev({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}))
    with pytest.raises(UpstreamBadRequest, match="bad thing"):
        decoder.feed(_ev({"type": "error", "error": {"type": "invalid_request_error", "message": "bad thing"}}))


@pytest.mark.parametrize("cut", [0, 1, 4, 5])
def test_stream_ended_early(cut: int, model: ModelInfo) -> None:
    raw = _raw_stream("stream_text.json")
    decoder = PROVIDER.stream_decoder(model)
    for event in raw[:cut]:
        decoder.feed(event)
    with pytest.raises(UpstreamProtocolError, match="stream ended early"):
        decoder.close()


def test_stream_without_message_stop_but_with_finish_data_still_fails(model: ModelInfo) -> None:
    raw = [e for e in _raw_stream("stream_text.json") if e.event != "message_stop"]
    decoder = PROVIDER.stream_decoder(model)
    for event in raw:
        decoder.feed(event)
    with pytest.raises(UpstreamProtocolError):
        decoder.close()


def test_malformed_data_is_a_protocol_error(model: ModelInfo) -> None:
    decoder = PROVIDER.stream_decoder(model)
    decoder.feed(START)
    with pytest.raises(UpstreamProtocolError):
        decoder.feed(SSEEvent(data='{"type": "content_block_delta", "index": 0', event="content_block_delta"))
    with pytest.raises(UpstreamProtocolError, match="unknown content block"):
        decoder.feed(_delta(3, {"type": "text_delta", "text": "x"}))
    with pytest.raises(UpstreamProtocolError, match="server_tool_use"):
        decoder.feed(_start(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}))


def test_content_before_message_start_is_a_protocol_error(model: ModelInfo) -> None:
    with pytest.raises(UpstreamProtocolError):
        PROVIDER.stream_decoder(model).feed(_start(0, {"type": "text", "text": ""}))


def test_bad_tool_arguments_are_a_protocol_error(model: ModelInfo) -> None:
    decoder = PROVIDER.stream_decoder(model)
    decoder.feed(START)
    decoder.feed(_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}))
    decoder.feed(_delta(0, {"type": "input_json_delta", "partial_json": '["not", "an object"]'}))
    with pytest.raises(UpstreamProtocolError):
        decoder.feed(_stop(0))


def test_whitespace_text_before_thinking_is_dropped_like_non_stream(model: ModelInfo) -> None:
    events = [
        START,
        _start(0, {"type": "text", "text": ""}),
        _delta(0, {"type": "text_delta", "text": "\n\n"}),
        _stop(0),
        _start(1, {"type": "thinking", "thinking": "", "signature": ""}),
        _delta(1, {"type": "thinking_delta", "thinking": "4"}),
        _delta(1, {"type": "signature_delta", "signature": "sig"}),
        _stop(1),
        _start(2, {"type": "text", "text": ""}),
        _delta(2, {"type": "text_delta", "text": "  2 + 2"}),
        _delta(2, {"type": "text_delta", "text": " = 4"}),
        _stop(2),
        _message_delta("end_turn", {"output_tokens": 30}),
        STOP,
    ]
    out = decode(model, events)
    assert [e for e in out if isinstance(e, BlockStart)] == [BlockStart(0, "thinking"), BlockStart(1, "text")]
    assert [e.text for e in out if isinstance(e, BlockDelta) and e.index == 1] == ["  2 + 2", " = 4"]
    folded = fold_events(out)
    assert view(folded).choices[0].content == "  2 + 2 = 4"
    assert view(folded).choices[0].reasoning == "4"
    assert folded == PROVIDER.parse_response(reconstruct_message(events), model)


def test_interleaved_thinking_and_redacted_blocks(model: ModelInfo) -> None:
    events = [
        START,
        _start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        _delta(0, {"type": "thinking_delta", "thinking": "first"}),
        _delta(0, {"type": "signature_delta", "signature": "s1"}),
        _stop(0),
        _start(1, {"type": "redacted_thinking", "data": "opaque"}),
        _stop(1),
        _start(2, {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}}),
        _delta(2, {"type": "input_json_delta", "partial_json": '{"a": '}),
        _delta(2, {"type": "input_json_delta", "partial_json": "1}"}),
        _stop(2),
        _start(3, {"type": "thinking", "thinking": "", "signature": ""}),
        _delta(3, {"type": "thinking_delta", "thinking": "second"}),
        _delta(3, {"type": "signature_delta", "signature": "s2"}),
        _stop(3),
        _message_delta("tool_use", {"output_tokens": 50}),
        STOP,
    ]
    out = decode(model, events)
    folded = fold_events(out)
    assert view(folded).choices[0].reasoning == "first\n\nsecond"
    replay = view(folded).choices[0].replay
    assert replay is not None
    assert json.loads(replay.data) == [
        {"type": "thinking", "thinking": "first", "signature": "s1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "thinking", "thinking": "second", "signature": "s2"},
    ]
    assert folded == PROVIDER.parse_response(reconstruct_message(events), model)


def test_tool_use_with_input_in_start_block(model: ModelInfo) -> None:
    events = [
        START,
        _start(0, {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {"x": [1, 2]}}),
        _stop(0),
        _message_delta("tool_use", {"output_tokens": 5}),
        STOP,
    ]
    out = decode(model, events)
    assert BlockDelta(0, '{"x": [1, 2]}') in out
    assert fold_events(out) == PROVIDER.parse_response(reconstruct_message(events), model)


def test_events_after_message_stop_are_ignored(model: ModelInfo) -> None:
    decoder = PROVIDER.stream_decoder(model)
    for event in _raw_stream("stream_text.json"):
        decoder.feed(event)
    assert decoder.feed(_ev({"type": "error", "error": {"type": "api_error", "message": "late"}})) == []
    assert decoder.close() == []
