"""The upstream SSE reader: framing with LF, CRLF and CR, chunks split anywhere, event names, end of stream."""

from __future__ import annotations

import json

import pytest

from opentoken.providers.base import SSEEvent
from opentoken.upstream.sse import SSEParser
from support.fixtures import UPSTREAM

SHARED = UPSTREAM


def feed_in_pieces(raw: bytes, size: int) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for i in range(0, len(raw), size):
        events += parser.feed(raw[i : i + size])
    return events + parser.close()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_framing_is_independent_of_chunking_and_line_endings(size: int, newline: bytes) -> None:
    raw = newline.join(
        [b"event: message_start", b'data: {"a": 1}', b"", b": comment", b'data: {"b":', b"data: 2}", b"", b""]
    )
    events = feed_in_pieces(raw, size)
    assert events == [SSEEvent(data='{"a": 1}', event="message_start"), SSEEvent(data='{"b":\n2}')]


def test_final_event_without_blank_line_is_kept() -> None:
    assert feed_in_pieces(b"data: last", 4) == [SSEEvent(data="last")]


def test_utf8_split_across_chunks() -> None:
    raw = "data: héllo ✓\n\n".encode()
    assert feed_in_pieces(raw, 1) == [SSEEvent(data="héllo ✓")]


@pytest.mark.parametrize(
    "name", ["anthropic/stream_text.json", "anthropic/stream_tool_use_parallel.json", "gemini/stream_text.json"]
)
def test_recorded_streams_parse_into_json_events(name: str) -> None:
    fixture = json.loads((SHARED / name).read_text())
    raw = fixture["response"]["body_text"].encode()
    events = feed_in_pieces(raw, 17)
    assert events and all(isinstance(json.loads(e.data), dict) for e in events)
    if name.startswith("anthropic"):
        assert events[0].event == "message_start" and events[-1].event == "message_stop"
        assert all(json.loads(e.data)["type"] == e.event for e in events)
