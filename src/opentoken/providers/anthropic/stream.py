"""Anthropic SSE stream -> canonical stream events: a small state object keyed by content-block index.

Per upstream event:

- ``message_start`` -> ``StreamStart`` and a first ``UsageUpdate`` (input and cache counts are known here).
- ``content_block_start`` -> ``BlockStart`` with the next canonical block index (Anthropic's own index is
  only the key of this decoder's state): ``thinking``, ``redacted_thinking`` (a redacted thinking block),
  ``tool_use`` (with its id and name). A ``text`` block starts only once it holds non-whitespace text or
  follows real text: a whitespace-only text block before any real text is dropped, as ``response.py`` does.
- ``content_block_delta``: ``text_delta`` and ``thinking_delta`` -> ``BlockDelta`` with the text;
  ``input_json_delta`` -> ``BlockDelta`` with the fragment (empty fragments skipped); ``signature_delta`` is
  kept for the replay state; ``citations_delta`` carries nothing the canonical blocks hold.
- ``content_block_stop`` -> ``BlockStop``; a tool call's joined arguments must be a JSON object, else the
  reply is unreadable.
- ``message_delta``: the stop reason and stop sequence, and cumulative usage whose non-null fields override
  earlier ones.
- ``message_stop`` -> ``ReplayUpdate`` (when thinking blocks were seen), ``Finish``, final ``UsageUpdate``.
- ``ping`` and event types this decoder does not know are ignored; ``error`` raises the mapped GatewayError.

``close`` at EOF without ``message_stop`` raises ``UpstreamProtocolError`` ("stream ended early"). Folding
these events gives exactly what ``parse_response`` gives for the same reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, assert_never

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import UpstreamProtocolError
from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    ReplayUpdate,
    StreamEvent,
    StreamStart,
    UsageUpdate,
)
from opentoken.core.result import BlockKind as CanonicalKind
from opentoken.providers.anthropic import wire
from opentoken.providers.anthropic.errors import protocol_error, stream_error
from opentoken.providers.anthropic.response import map_usage, merge_usage, replay_state, stop_of
from opentoken.providers.base import SSEEvent

BlockKind = Literal["text", "thinking", "redacted_thinking", "tool_use"]
_KINDS: dict[BlockKind, CanonicalKind] = {
    "text": "text",
    "thinking": "thinking",
    "redacted_thinking": "thinking",
    "tool_use": "tool_call",
}


@dataclass
class _Block:
    kind: BlockKind
    index: int = -1  # canonical index; -1 while a text block is held back (whitespace only so far)
    thinking: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    data: str = ""  # redacted_thinking payload
    arguments: list[str] = field(default_factory=list)
    start_input: str = ""  # a tool_use block that opened with a non-empty input (then no deltas follow)
    held: list[str] = field(default_factory=list)  # held-back whitespace of a text block

    def replay_block(self) -> wire.ReplayBlock | None:
        if self.kind == "thinking":
            return wire.ThinkingBlock(thinking="".join(self.thinking), signature="".join(self.signature))
        if self.kind == "redacted_thinking":
            return wire.RedactedThinkingBlock(data=self.data)
        return None


class AnthropicStreamDecoder:
    """Fed one ``SSEEvent`` at a time by the upstream layer; see the module docstring for the mapping."""

    def __init__(self, model: ModelInfo | None = None) -> None:
        self._model = model
        self._started = False
        self._finished = False
        self._blocks: dict[int, _Block] = {}
        self._next_index = 0  # canonical block indices handed out so far
        self._text_started = False  # some non-whitespace text was emitted
        self._usage = wire.Usage()
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None

    # ---- entry points ----

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if self._finished or not event.data.strip():
            return []
        parsed = self._decode(event.data)
        match parsed:
            case None | wire.Ping():
                return []
            case wire.ErrorEvent():
                raise stream_error(parsed.error)
            case wire.MessageStart():
                return self._on_message_start(parsed)
        if not self._started:
            raise protocol_error(f"{type(parsed).__name__} before message_start")
        match parsed:
            case wire.ContentBlockStart():
                return self._on_block_start(parsed)
            case wire.ContentBlockDelta():
                return self._on_block_delta(parsed)
            case wire.ContentBlockStop():
                return self._on_block_stop(parsed)
            case wire.MessageDelta():
                self._stop_reason = parsed.delta.stop_reason or self._stop_reason
                self._stop_sequence = parsed.delta.stop_sequence or self._stop_sequence
                if parsed.usage is not None:
                    self._usage = merge_usage(self._usage, parsed.usage)
                return []
            case wire.MessageStop():
                return self._on_message_stop()
        assert_never(parsed)

    def close(self) -> list[StreamEvent]:
        if not self._finished:
            raise UpstreamProtocolError("The Anthropic stream ended early (no message_stop event).")
        return []

    # ---- decoding ----

    def _decode(self, data: str) -> wire.StreamEvent | None:
        try:
            event: wire.StreamEvent = wire.event_decoder.decode(data)
            return event
        except msgspec.ValidationError as e:
            try:
                kind = wire.event_type_decoder.decode(data).type
            except msgspec.DecodeError:
                raise protocol_error("stream event", e) from e
            if kind not in wire.STREAM_EVENT_TYPES:
                return None  # a newer event type: ignored, as the API asks
            raise protocol_error(f"{kind} event", e) from e
        except msgspec.DecodeError as e:
            raise protocol_error("stream event", e) from e

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            raise protocol_error(f"delta for unknown content block {index}")
        return block

    # ---- handlers ----

    def _on_message_start(self, event: wire.MessageStart) -> list[StreamEvent]:
        if self._started:
            raise protocol_error("second message_start")
        self._started = True
        self._usage = event.message.usage
        return [
            StreamStart(id=event.message.id, upstream_model=event.message.model),
            UsageUpdate(map_usage(self._usage)),
        ]

    def _open(self, block: _Block, id: str = "", name: str = "") -> list[StreamEvent]:
        """Give ``block`` the next canonical index and announce it."""
        block.index = self._next_index
        self._next_index += 1
        kind: CanonicalKind = _KINDS[block.kind]
        return [BlockStart(block.index, kind, id=id, name=name, redacted=block.kind == "redacted_thinking")]

    def _on_block_start(self, event: wire.ContentBlockStart) -> list[StreamEvent]:
        start = event.content_block
        match start:
            case wire.TextBlock():
                block = self._blocks[event.index] = _Block("text")
                return self._text(block, start.text)
            case wire.ThinkingBlock():
                block = self._blocks[event.index] = _Block("thinking", signature=[start.signature])
                return self._open(block) + self._thinking(block, start.thinking)
            case wire.RedactedThinkingBlock():
                block = self._blocks[event.index] = _Block("redacted_thinking", data=start.data)
                return self._open(block)
            case wire.ToolUseBlock():
                initial = wire.format_input(start.input)
                block = self._blocks[event.index] = _Block("tool_use", start_input="" if initial == "{}" else initial)
                return self._open(block, id=start.id, name=start.name)
        assert_never(start)

    def _on_block_delta(self, event: wire.ContentBlockDelta) -> list[StreamEvent]:
        block = self._block(event.index)
        delta = event.delta
        match delta:
            case wire.TextDelta() if block.kind == "text":
                return self._text(block, delta.text)
            case wire.ThinkingDelta() if block.kind == "thinking":
                return self._thinking(block, delta.thinking)
            case wire.SignatureDelta() if block.kind == "thinking":
                block.signature.append(delta.signature)
                return []
            case wire.InputJSONDelta() if block.kind == "tool_use":
                block.arguments.append(delta.partial_json)
                if not delta.partial_json:
                    return []
                return [BlockDelta(block.index, delta.partial_json)]
            case wire.CitationsDelta():
                return []
        raise protocol_error(f"{type(delta).__name__} inside a {block.kind} block")

    def _on_block_stop(self, event: wire.ContentBlockStop) -> list[StreamEvent]:
        block = self._block(event.index)
        if block.index < 0:
            return []  # a whitespace-only text block before any real text: dropped
        out: list[StreamEvent] = []
        if block.kind == "tool_use":
            joined = "".join(block.arguments)
            if not joined.strip():
                if block.start_input:
                    out.append(BlockDelta(block.index, block.start_input))
            else:
                try:
                    parsed = msgspec.json.decode(joined)
                except msgspec.DecodeError as e:
                    raise protocol_error("tool call arguments", e) from e
                if not isinstance(parsed, dict):
                    raise protocol_error("tool call arguments are not a JSON object")
        out.append(BlockStop(block.index))
        return out

    def _on_message_stop(self) -> list[StreamEvent]:
        self._finished = True
        events: list[StreamEvent] = []
        replay = [b for _, blk in sorted(self._blocks.items()) if (b := blk.replay_block()) is not None]
        state = replay_state(replay)
        if state is not None:
            events.append(ReplayUpdate(state))
        events.append(Finish(stop_of(self._stop_reason, self._stop_sequence)))
        events.append(UsageUpdate(map_usage(self._usage)))
        return events

    # ---- text rules shared with response.py ----

    def _text(self, block: _Block, text: str) -> list[StreamEvent]:
        if not text:
            return []
        if block.index >= 0:
            return [BlockDelta(block.index, text)]
        block.held.append(text)
        if not self._text_started and not text.strip():
            return []
        self._text_started = True
        joined = "".join(block.held)
        block.held.clear()
        return [*self._open(block), BlockDelta(block.index, joined)]

    def _thinking(self, block: _Block, text: str) -> list[StreamEvent]:
        block.thinking.append(text)
        return [BlockDelta(block.index, text)] if text else []
