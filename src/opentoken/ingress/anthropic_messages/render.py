"""Canonical results -> Anthropic ``Message`` objects: content blocks, stop reasons, usage, signatures.

A passed-through reply (``ChatResult.native``) is sent as it came; everything here is for translated replies.
Thinking blocks of other providers get a ``signature`` the gateway mints (``signature``): an opaque reference
the client sends back with the turn. The provider's own state for the turn (Gemini's thought signatures) is
kept by the gateway (``ReplayStore``, by tool-use id) and re-attached on the next request, so the client's
copy only has to be present, as Anthropic clients expect.
"""

from __future__ import annotations

import base64
from typing import Literal

import msgspec
from msgspec import Struct

from opentoken.core.result import Candidate, StopReason, TextBlock, ThinkingBlock, ToolCallBlock, Usage
from opentoken.ingress.anthropic_messages.errors import ENCODER

STOP_REASONS: dict[StopReason, str] = {
    "end_turn": "end_turn",
    "stop_sequence": "stop_sequence",
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
    "content_filter": "refusal",
    "refusal": "refusal",
    "pause_turn": "pause_turn",
}


class CacheCreationOut(Struct):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class UsageOut(Struct):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation: CacheCreationOut


class TextOut(Struct, tag="text", tag_field="type"):
    text: str


class ThinkingOut(Struct, tag="thinking", tag_field="type"):
    thinking: str
    signature: str


class RedactedThinkingOut(Struct, tag="redacted_thinking", tag_field="type"):
    data: str


class ToolUseOut(Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: msgspec.Raw


BlockOut = TextOut | ThinkingOut | RedactedThinkingOut | ToolUseOut


class MessageOut(Struct):
    id: str
    model: str
    content: list[BlockOut]
    stop_reason: str | None
    stop_sequence: str | None
    usage: UsageOut
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"


def message_id(request_id: str) -> str:
    return "msg_" + request_id.removeprefix("req_")


def signature(provider: str, request_id: str, index: int) -> str:
    """The signature of a thinking block the gateway translated: an opaque reference to the turn."""
    return base64.urlsafe_b64encode(f"opentoken:{provider}:{request_id}:{index}".encode()).decode()


def usage_out(usage: Usage) -> UsageOut:
    long = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    return UsageOut(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_write_tokens,
        cache_read_input_tokens=usage.cache_read_tokens,
        cache_creation=CacheCreationOut(usage.cache_write_tokens - long, long),
    )


def blocks_out(candidate: Candidate, provider: str, request_id: str, omit_thinking: bool) -> list[BlockOut]:
    out: list[BlockOut] = []
    for index, block in enumerate(candidate.blocks):
        match block:
            case TextBlock():
                out.append(TextOut(block.text))
            case ThinkingBlock(redacted=True):
                out.append(RedactedThinkingOut(signature(provider, request_id, index)))
            case ThinkingBlock():
                text = "" if omit_thinking else block.text
                out.append(ThinkingOut(text, signature(provider, request_id, index)))
            case ToolCallBlock():
                out.append(ToolUseOut(block.id, block.name, msgspec.Raw(block.arguments.encode() or b"{}")))
    return out


def message_json(
    candidate: Candidate, usage: Usage, *, id: str, model: str, provider: str, request_id: str, omit_thinking: bool
) -> bytes:
    stop = candidate.stop
    return ENCODER.encode(
        MessageOut(
            id=id,
            model=model,
            content=blocks_out(candidate, provider, request_id, omit_thinking),
            stop_reason=STOP_REASONS[stop.reason],
            stop_sequence=stop.sequence if stop.reason == "stop_sequence" else None,
            usage=usage_out(usage),
        )
    )
