"""Anthropic ``Message`` reply -> canonical ``ChatResult``: content map, usage map, finish-reason table.

- Text blocks are joined into ``content``; ``content`` is ``None`` when the reply holds only tool calls.
  Whitespace-only text blocks that come before any real text are dropped: claude-opus-4-6 may open an
  adaptive-thinking reply with a ``"\\n\\n"`` text block ahead of its thinking block.
- Thinking text goes to ``Choice.reasoning`` (blocks joined with a blank line), never into ``content``.
- ``thinking`` and ``redacted_thinking`` blocks, signatures and all, are kept verbatim as
  ``ReplayState(provider="anthropic", data=<JSON list of the blocks>)``; ``request.py`` sends them back.
- ``tool_use`` blocks become tool calls with the ``toolu_`` id; ``arguments`` is the input in the layout
  Anthropic streams it in (see ``wire.format_input``), so stream and non-stream results are equal.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ReplayState, ToolCall
from opentoken.core.result import ChatResult, Choice, FinishReason, Usage
from opentoken.providers.anthropic import wire
from opentoken.providers.anthropic.errors import protocol_error, stream_error

_T = TypeVar("_T")

PROVIDER_NAME = "anthropic"
REASONING_SEPARATOR = "\n\n"

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> FinishReason:
    """Table lookup; an absent or unknown stop reason (a newer API value) reads as a normal stop."""
    if stop_reason is None:
        return "stop"
    return FINISH_REASONS.get(stop_reason, "stop")


def map_usage(usage: wire.Usage) -> Usage:
    details = usage.output_tokens_details
    return Usage(
        input_tokens=usage.input_tokens or 0,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_tokens=usage.cache_creation_input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        reasoning_tokens=(details.thinking_tokens or 0) if details is not None else 0,
    )


def merge_usage(base: wire.Usage, update: wire.Usage) -> wire.Usage:
    """``base`` with every non-null field of ``update`` laid over it (stream ``message_delta`` counts)."""
    return wire.Usage(
        input_tokens=_pick(update.input_tokens, base.input_tokens),
        output_tokens=_pick(update.output_tokens, base.output_tokens),
        cache_creation_input_tokens=_pick(update.cache_creation_input_tokens, base.cache_creation_input_tokens),
        cache_read_input_tokens=_pick(update.cache_read_input_tokens, base.cache_read_input_tokens),
        output_tokens_details=_pick(update.output_tokens_details, base.output_tokens_details),
    )


def _pick(new: _T | None, old: _T | None) -> _T | None:
    return new if new is not None else old


def replay_state(blocks: list[wire.ReplayBlock]) -> ReplayState | None:
    if not blocks:
        return None
    return ReplayState(provider=PROVIDER_NAME, data=wire.encoder.encode(blocks).decode())


def _choice(message: wire.Message) -> Choice:
    text: list[str] = []
    reasoning: list[str] = []
    replay: list[wire.ReplayBlock] = []
    calls: list[ToolCall] = []
    for block in message.content:
        match block:
            case wire.TextBlock():
                if text or block.text.strip():
                    text.append(block.text)
            case wire.ThinkingBlock():
                replay.append(block)
                if block.thinking:
                    reasoning.append(block.thinking)
            case wire.RedactedThinkingBlock():
                replay.append(block)
            case wire.ToolUseBlock():
                calls.append(ToolCall(id=block.id, name=block.name, arguments=wire.format_input(block.input)))
    content = "".join(text)
    return Choice(
        index=0,
        content=content if content or not calls else None,
        finish_reason=finish_reason(message.stop_reason),
        reasoning=REASONING_SEPARATOR.join(reasoning) or None,
        tool_calls=tuple(calls),
        replay=replay_state(replay),
    )


def parse_response(body: bytes, model: ModelInfo) -> ChatResult:
    """Parse a 200 reply of ``/v1/messages``; an unreadable one raises ``UpstreamProtocolError``."""
    try:
        message = wire.message_decoder.decode(body)
    except msgspec.DecodeError as e:
        try:
            detail = wire.error_decoder.decode(body).error
        except msgspec.DecodeError:
            raise protocol_error("message", e) from e
        raise stream_error(detail) from e
    return ChatResult(
        id=message.id,
        choices=(_choice(message),),
        usage=map_usage(message.usage),
        upstream_model=message.model,
    )
