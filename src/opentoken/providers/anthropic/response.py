"""Anthropic ``Message`` reply -> canonical ``ChatResult``: content map, usage map, stop-reason table.

- Content blocks map one to one, in order: ``text`` -> ``TextBlock``, ``thinking`` -> ``ThinkingBlock``,
  ``redacted_thinking`` -> a redacted ``ThinkingBlock`` (no text), ``tool_use`` -> ``ToolCallBlock`` with the
  ``toolu_`` id and ``arguments`` in the layout Anthropic streams them in (see ``wire.format_input``), so
  stream and non-stream results are equal. Whitespace-only text blocks that come before any real text are
  dropped: claude-opus-4-6 may open an adaptive-thinking reply with a ``"\\n\\n"`` text block ahead of
  its thinking block.
- ``thinking`` and ``redacted_thinking`` blocks, signatures and all, are kept verbatim as
  ``ReplayState(provider="anthropic", data=<JSON list of the blocks>)``; ``request.py`` sends them back.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ReplayState
from opentoken.core.result import (
    Block,
    Candidate,
    ChatResult,
    Stop,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from opentoken.providers.anthropic import wire
from opentoken.providers.anthropic.errors import protocol_error, stream_error

_T = TypeVar("_T")

PROVIDER_NAME = "anthropic"

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "stop_sequence",
    "pause_turn": "pause_turn",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "tool_use": "tool_use",
    "refusal": "refusal",
}


def stop_of(stop_reason: str | None, sequence: str | None = None) -> Stop:
    """Table lookup; an absent or unknown stop reason (a newer API value) reads as a normal end of turn."""
    reason = STOP_REASONS.get(stop_reason, "end_turn") if stop_reason is not None else "end_turn"
    return Stop(reason, raw=stop_reason, sequence=sequence)


def map_usage(usage: wire.Usage) -> Usage:
    details = usage.output_tokens_details
    return Usage(
        input_tokens=usage.input_tokens or 0,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_tokens=usage.cache_creation_input_tokens or 0,
        cache_write_1h_tokens=(usage.cache_creation.ephemeral_1h_input_tokens or 0) if usage.cache_creation else 0,
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
        cache_creation=_pick(update.cache_creation, base.cache_creation),
    )


def _pick(new: _T | None, old: _T | None) -> _T | None:
    return new if new is not None else old


def replay_state(blocks: list[wire.ReplayBlock]) -> ReplayState | None:
    if not blocks:
        return None
    return ReplayState(provider=PROVIDER_NAME, data=wire.encoder.encode(blocks).decode())


def _candidate(message: wire.Message) -> Candidate:
    blocks: list[Block] = []
    replay: list[wire.ReplayBlock] = []
    text_started = False
    for block in message.content:
        match block:
            case wire.TextBlock():
                if block.text and (text_started or block.text.strip()):
                    text_started = True
                    blocks.append(TextBlock(block.text))
            case wire.ThinkingBlock():
                replay.append(block)
                blocks.append(ThinkingBlock(block.thinking))
            case wire.RedactedThinkingBlock():
                replay.append(block)
                blocks.append(ThinkingBlock("", redacted=True))
            case wire.ToolUseBlock():
                blocks.append(ToolCallBlock(id=block.id, name=block.name, arguments=wire.format_input(block.input)))
    return Candidate(
        index=0,
        blocks=tuple(blocks),
        stop=stop_of(message.stop_reason, message.stop_sequence),
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
        candidates=(_candidate(message),),
        usage=map_usage(message.usage),
        upstream_model=message.model,
    )
