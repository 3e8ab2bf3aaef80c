"""The Anthropic Messages stream grammar, checked over parsed ``(event name, data)`` pairs."""

from __future__ import annotations

from typing import Any

_DELTAS = {
    "text": ("text_delta", "citations_delta"),
    "thinking": ("thinking_delta", "signature_delta"),
    "tool_use": ("input_json_delta",),
    "server_tool_use": ("input_json_delta",),
}


def check_anthropic_grammar(events: list[tuple[str, dict[str, Any]]]) -> None:
    """The Messages stream grammar: message_start, then per block start / deltas of its kind / stop with
    consecutive indexes, then message_delta and message_stop; ping anywhere; every event's type is its name."""
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    assert names.count("message_start") == 1 and names.count("message_delta") == 1
    open_block: tuple[int, str] | None = None
    next_index = 0
    for name, data in events:
        assert data["type"] == name
        if name == "content_block_start":
            assert open_block is None and data["index"] == next_index
            open_block = (data["index"], data["content_block"]["type"])
        elif name == "content_block_delta":
            assert open_block is not None and data["index"] == open_block[0]
            assert data["delta"]["type"] in _DELTAS.get(open_block[1], ()), (open_block, data)
        elif name == "content_block_stop":
            assert open_block is not None and data["index"] == open_block[0]
            open_block = None
            next_index += 1
        elif name in ("message_delta", "message_stop"):
            assert open_block is None
