"""The OpenAI chunk writer over canonical block events: tool-call indices, empty arguments, reasoning joins.

Recorded provider streams go through the provider's decoder and the writer, and the frames are checked the
way an OpenAI client reads them (each frame schema-valid; joined tool-call arguments parse as JSON objects).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.result import BlockDelta, BlockStart, BlockStop, Finish, Stop, StreamEvent
from opentoken.ingress.openai_chat.stream import ChunkWriter
from opentoken.providers.anthropic import PROVIDER as ANTHROPIC_PROVIDER
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini import PROVIDER as GEMINI_PROVIDER
from support.fixtures import load_upstream
from support.openai_schema import validate


def anthropic_events(text: str) -> list[SSEEvent]:
    out = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln]
        data = [ln[6:] for ln in lines if ln.startswith("data: ")]
        name = next((ln[7:] for ln in lines if ln.startswith("event: ")), None)
        if data:
            out.append(SSEEvent(data="\n".join(data), event=name))
    return out


def gemini_events(text: str) -> list[SSEEvent]:
    return [SSEEvent(data=b[6:]) for b in text.replace("\r\n", "\n").split("\n\n") if b.startswith("data: ")]


def decode(name: str) -> list[StreamEvent]:
    catalog = load_catalog()
    if name.startswith("anthropic/"):
        decoder: Any = ANTHROPIC_PROVIDER.stream_decoder(catalog.resolve("anthropic/claude-sonnet-4-5"))
        raw = anthropic_events(load_upstream(name)["response"]["body_text"])
    else:
        decoder = GEMINI_PROVIDER.stream_decoder(catalog.resolve("google/gemini-3-flash"))
        raw = gemini_events(load_upstream(name)["response"]["body_text"])
    events = [ev for sse in raw for ev in decoder.feed(sse)]
    return events + decoder.close()


def frames(events: list[StreamEvent]) -> list[dict[str, Any]]:
    writer = ChunkWriter(id="chatcmpl-x", created=1, model="m")
    out = []
    for ev in events:
        for frame in writer.event(ev):
            assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
            chunk = json.loads(frame[6:])
            validate("CreateChatCompletionStreamResponse", chunk)
            out.append(chunk)
    return out


def joined_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls", []):
                entry = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
                entry["id"] += delta.get("id") or ""
                entry["name"] += (delta.get("function") or {}).get("name") or ""
                entry["arguments"] += (delta.get("function") or {}).get("arguments") or ""
    return calls


STREAMS_WITH_CALLS = [
    "anthropic/stream_tool_use_no_args.json",
    "anthropic/stream_thinking_tool_use.json",
    "anthropic/stream_tool_use.json",
    "anthropic/stream_tool_use_parallel.json",
    "gemini/stream_function_call.json",
    "gemini/stream_function_call_parallel_thinking.json",
    "gemini/stream_function_call_parallel_gemini20.json",
]


@pytest.mark.parametrize("name", STREAMS_WITH_CALLS)
def test_every_streamed_tool_call_has_json_object_arguments(name: str) -> None:
    calls = joined_calls(frames(decode(name)))
    assert calls
    assert sorted(calls) == list(range(len(calls)))  # indices count the calls from 0
    for call in calls.values():
        assert call["id"] and call["name"]
        assert isinstance(json.loads(call["arguments"]), dict)


def test_recorded_zero_argument_call_streams_an_empty_object() -> None:
    # the recorded upstream sends no input_json_delta with content for this call
    raw = load_upstream("anthropic/stream_tool_use_no_args.json")["response"]["body_text"]
    assert '"partial_json":"{' not in raw.replace(" ", "")
    calls = joined_calls(frames(decode("anthropic/stream_tool_use_no_args.json")))
    assert [c["arguments"] for c in calls.values()] == ["{}"]


def test_tool_index_counts_calls_not_blocks() -> None:
    events: list[StreamEvent] = [
        BlockStart(0, "thinking"),
        BlockDelta(0, "hm"),
        BlockStop(0),
        BlockStart(1, "text"),
        BlockDelta(1, "ok"),
        BlockStop(1),
        BlockStart(2, "tool_call", id="a", name="f"),
        BlockDelta(2, '{"x":1}'),
        BlockStop(2),
        BlockStart(3, "tool_call", id="b", name="g"),
        BlockStop(3),
        Finish(Stop("tool_use")),
    ]
    chunks = frames(events)
    assert joined_calls(chunks) == {
        0: {"id": "a", "name": "f", "arguments": '{"x":1}'},
        1: {"id": "b", "name": "g", "arguments": "{}"},
    }
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_second_thinking_block_is_separated_by_a_blank_line() -> None:
    events: list[StreamEvent] = [
        BlockStart(0, "thinking"),
        BlockDelta(0, "one"),
        BlockStop(0),
        BlockStart(1, "tool_call", id="a", name="f"),
        BlockStop(1),
        BlockStart(2, "thinking"),
        BlockDelta(2, "two"),
        BlockStop(2),
    ]
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in frames(events) if c["choices"])
    assert reasoning == "one\n\ntwo"


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("content_filter", "content_filter"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reasons_in_openai_terms(reason: Any, finish: str) -> None:
    chunks = frames([Finish(Stop(reason))])
    assert chunks[-1]["choices"][0]["finish_reason"] == finish
