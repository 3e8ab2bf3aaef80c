"""The content blocks of a simulated Anthropic reply, with their JSON shape and their output tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from opentoken_sandbox.tokens import count_text

DIRECT = {"type": "direct"}


@dataclass(frozen=True)
class Thinking:
    """``pieces`` is empty when the request asked for ``display: "omitted"``; ``tokens`` counts what was thought."""

    pieces: tuple[str, ...]
    signature: str
    tokens: int


@dataclass(frozen=True)
class Redacted:
    data: str
    tokens: int


@dataclass(frozen=True)
class Text:
    pieces: tuple[str, ...]
    citations: tuple[dict[str, Any], ...] = ()

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ServerToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class SearchResults:
    tool_use_id: str
    results: tuple[dict[str, Any], ...]


Block = Thinking | Redacted | Text | ToolUse | ServerToolUse | SearchResults


def _call_tokens(name: str, arguments: dict[str, Any]) -> int:
    return max(1, count_text(name + orjson.dumps(arguments).decode()))


def block_tokens(block: Block) -> int:
    if isinstance(block, Thinking | Redacted):
        return block.tokens
    if isinstance(block, Text):
        return len(block.pieces)
    if isinstance(block, ToolUse | ServerToolUse):
        return _call_tokens(block.name, block.input)
    return 0


def output_tokens(blocks: tuple[Block, ...]) -> int:
    return sum(block_tokens(b) for b in blocks)


def block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": "".join(block.pieces), "signature": block.signature}
    if isinstance(block, Redacted):
        return {"type": "redacted_thinking", "data": block.data}
    if isinstance(block, Text):
        out: dict[str, Any] = {"type": "text", "text": block.text}
        if block.citations:
            out["citations"] = list(block.citations)
        return out
    if isinstance(block, ToolUse):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input, "caller": DIRECT}
    if isinstance(block, ServerToolUse):
        return {"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input, "caller": DIRECT}
    return {"type": "web_search_tool_result", "tool_use_id": block.tool_use_id, "content": list(block.results)}
