"""Anthropic SSE rendering with the recorded event order and framing.

``message_start``, then per block ``content_block_start`` / ``content_block_delta``* /
``content_block_stop`` (a ``ping`` follows the first ``content_block_start``), then ``message_delta`` with
the cumulative usage (and ``context_management`` when the request asked for it) and ``message_stop``. Each
event is ``event: <type>\\ndata: <json>\\n\\n``; like the real API, most data lines pad the JSON with spaces
before the final brace.

Thinking blocks stream ``thinking_delta``*, one empty ``thinking_delta`` and a ``signature_delta`` (with
``display: "omitted"`` only the ``signature_delta``); tool and server-tool inputs stream as ``input_json_delta``
fragments cut at arbitrary points, the first one empty; a cited text block starts with ``"citations": []`` and
gets one ``citations_delta`` per citation after its text; ``web_search_tool_result`` blocks arrive whole in
their ``content_block_start``.
"""

from __future__ import annotations

from typing import Any

import orjson

from opentoken_sandbox.anthropic.blocks import (
    Block,
    Redacted,
    SearchResults,
    ServerToolUse,
    Text,
    Thinking,
    ToolUse,
    block_json,
    block_tokens,
)
from opentoken_sandbox.anthropic.render import (
    Reply,
    context_management,
    delta_usage,
    message_head,
    tool_json,
    usage,
)
from opentoken_sandbox.streaming import Frame
from opentoken_sandbox.tokens import count_text, group, split_string

_TEXT_GROUPS = (2, 5, 1, 4, 3, 6)
_THINKING_GROUPS = (4, 9, 6)
_JSON_CUTS = (7, 3, 11, 5, 9)
_PADDING = (15, 3, 9, 0, 12, 6, 1, 14, 4)
_PING = b'event: ping\ndata: {"type": "ping"}\n\n'


class _Events:
    def __init__(self, pad: bool) -> None:
        self.frames: list[Frame] = []
        self._pad = pad

    def add(self, kind: str, payload: dict[str, Any], tokens: int = 0) -> None:
        data = orjson.dumps(payload)
        if self._pad:
            data = data[:-1] + b" " * _PADDING[len(self.frames) % len(_PADDING)] + b"}"
        self.frames.append(Frame(b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n", tokens))

    def ping(self) -> None:
        self.frames.append(Frame(_PING))

    def start(self, index: int, block: dict[str, Any]) -> None:
        self.add("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        if index == 0:
            self.ping()

    def delta(self, index: int, delta: dict[str, Any], tokens: int = 0) -> None:
        self.add("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, tokens)

    def stop(self, index: int) -> None:
        self.add("content_block_stop", {"type": "content_block_stop", "index": index})


def stream_frames(reply: Reply, pad: bool = True) -> list[Frame]:
    events = _Events(pad)
    message = message_head(reply)
    message.update(
        content=[], stop_reason=None, stop_sequence=None, stop_details=None, usage=usage(reply, output_tokens=1)
    )
    events.add("message_start", {"type": "message_start", "message": message})
    for index, block in enumerate(reply.blocks):
        _block(events, index, block)
    if not reply.blocks:
        events.ping()
    final: dict[str, Any] = {
        "type": "message_delta",
        "delta": {
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "stop_details": reply.stop_details,
        },
        "usage": delta_usage(reply),
    }
    managed = context_management(reply)
    if managed is not None:
        final["context_management"] = managed
    events.add("message_delta", final)
    events.add("message_stop", {"type": "message_stop"})
    return events.frames


def _block(events: _Events, index: int, block: Block) -> None:
    if isinstance(block, Thinking):
        _thinking(events, index, block)
    elif isinstance(block, Text):
        _text(events, index, block)
    elif isinstance(block, ToolUse | ServerToolUse):
        events.start(index, {**block_json(block), "input": {}})
        arguments = tool_json(block.input) if block.input else ""
        for fragment in ["", *split_string(arguments, _JSON_CUTS)]:
            events.delta(index, {"type": "input_json_delta", "partial_json": fragment}, count_text(fragment))
        events.stop(index)
    elif isinstance(block, Redacted | SearchResults):
        events.start(index, block_json(block))
        events.stop(index)


def _text(events: _Events, index: int, block: Text) -> None:
    start: dict[str, Any] = {"type": "text", "text": ""}
    if block.citations:
        start["citations"] = []
    events.start(index, start)
    for text, tokens in group(block.pieces, _TEXT_GROUPS):
        events.delta(index, {"type": "text_delta", "text": text}, tokens)
    for found in block.citations:
        events.delta(index, {"type": "citations_delta", "citation": found})
    events.stop(index)


def _thinking(events: _Events, index: int, block: Thinking) -> None:
    events.start(index, {"type": "thinking", "thinking": "", "signature": ""})
    if block.pieces:
        for text, tokens in group(block.pieces, _THINKING_GROUPS):
            events.delta(index, {"type": "thinking_delta", "thinking": text}, tokens)
        events.delta(index, {"type": "thinking_delta", "thinking": ""})
    events.delta(
        index, {"type": "signature_delta", "signature": block.signature}, 0 if block.pieces else block_tokens(block)
    )
    events.stop(index)
