"""Anthropic SSE rendering with the recorded event order and framing.

``message_start``, then per block ``content_block_start`` / ``content_block_delta``* /
``content_block_stop`` (a ``ping`` follows the first ``content_block_start``), then ``message_delta`` with
the cumulative usage and ``message_stop``. Each event is ``event: <type>\\ndata: <json>\\n\\n``; like the real
API, most data lines pad the JSON with spaces before the final brace. Thinking blocks stream
``thinking_delta``*, one empty ``thinking_delta`` and a ``signature_delta``; tool input streams as
``input_json_delta`` fragments cut at arbitrary points, the first one empty.
"""

from __future__ import annotations

from typing import Any

import orjson

from opentoken_sandbox.anthropic.render import (
    Reply,
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
    index = 0
    if reply.thinking_block is not None:
        _thinking(events, index, reply)
        index += 1
    if reply.completion.text:
        events.start(index, {"type": "text", "text": ""})
        for text, tokens in group(reply.completion.text, _TEXT_GROUPS):
            events.delta(index, {"type": "text_delta", "text": text}, tokens)
        events.stop(index)
        index += 1
    for call, tool_id in zip(reply.completion.calls, reply.tool_ids, strict=True):
        block = {"type": "tool_use", "id": tool_id, "name": call.name, "input": {}, "caller": {"type": "direct"}}
        events.start(index, block)
        arguments = tool_json(call.arguments) if call.arguments else ""
        for fragment in ["", *split_string(arguments, _JSON_CUTS)]:
            events.delta(index, {"type": "input_json_delta", "partial_json": fragment}, count_text(fragment))
        events.stop(index)
        index += 1
    if index == 0:
        events.ping()
    events.add(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": reply.stop_reason,
                "stop_sequence": reply.completion.stop_sequence,
                "stop_details": reply.stop_details,
            },
            "usage": delta_usage(reply),
        },
    )
    events.add("message_stop", {"type": "message_stop"})
    return events.frames


def _thinking(events: _Events, index: int, reply: Reply) -> None:
    block = reply.thinking_block or {}
    if block.get("type") == "redacted_thinking":
        events.start(index, block)
        events.stop(index)
        return
    events.start(index, {"type": "thinking", "thinking": "", "signature": ""})
    for text, tokens in group(reply.completion.thinking, _THINKING_GROUPS):
        events.delta(index, {"type": "thinking_delta", "thinking": text}, tokens)
    events.delta(index, {"type": "thinking_delta", "thinking": ""})
    events.delta(index, {"type": "signature_delta", "signature": block["signature"]})
    events.stop(index)
