"""Canonical stream events -> Anthropic's server-sent event grammar.

    message_start, ping, (content_block_start, content_block_delta*, content_block_stop)*,
    message_delta (stop reason and usage), message_stop

Block indices are the canonical ones (blocks start in order and never interleave). Text deltas are
``text_delta``, tool-call argument fragments ``input_json_delta``, thinking ``thinking_delta`` (none when the
client asked for ``display: "omitted"``), and a thinking block ends with a ``signature_delta`` carrying the
signature the gateway minted (``render.signature``). An error after the first byte is one ``error`` event.
``message_start`` is written when the first event arrives, with the usage known by then; ``message_delta``
carries the final usage.

A passed-through stream (``NativeFrame``) is relayed frame by frame as it came, byte for byte in its data.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from opentoken.core.result import (
    BlockDelta,
    BlockKind,
    BlockStart,
    BlockStop,
    Finish,
    LogprobsDelta,
    NativeFrame,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    Usage,
    UsageUpdate,
)
from opentoken.ingress.anthropic_messages.errors import ENCODER
from opentoken.ingress.anthropic_messages.render import (
    STOP_REASONS,
    BlockOut,
    RedactedThinkingOut,
    TextOut,
    ThinkingOut,
    ToolUseOut,
    UsageOut,
    signature,
    usage_out,
)

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
_EMPTY_INPUT = msgspec.Raw(b"{}")


class _StartMessage(Struct):
    id: str
    model: str
    usage: UsageOut
    content: list[BlockOut] = msgspec.field(default_factory=list)
    stop_reason: None = None
    stop_sequence: None = None
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"


class MessageStartOut(Struct, tag="message_start", tag_field="type"):
    message: _StartMessage


class BlockStartOut(Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: BlockOut


class TextDeltaOut(Struct, tag="text_delta", tag_field="type"):
    text: str


class JSONDeltaOut(Struct, tag="input_json_delta", tag_field="type"):
    partial_json: str


class ThinkingDeltaOut(Struct, tag="thinking_delta", tag_field="type"):
    thinking: str


class SignatureDeltaOut(Struct, tag="signature_delta", tag_field="type"):
    signature: str


DeltaOut = TextDeltaOut | JSONDeltaOut | ThinkingDeltaOut | SignatureDeltaOut


class BlockDeltaOut(Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: DeltaOut


class BlockStopOut(Struct, tag="content_block_stop", tag_field="type"):
    index: int


class MessageDeltaBody(Struct):
    stop_reason: str
    stop_sequence: str | None


class MessageDeltaOut(Struct, tag="message_delta", tag_field="type"):
    delta: MessageDeltaBody
    usage: UsageOut


class MessageStopOut(Struct, tag="message_stop", tag_field="type"):
    pass


EventOut = MessageStartOut | BlockStartOut | BlockDeltaOut | BlockStopOut | MessageDeltaOut | MessageStopOut


def frame(event: EventOut, name: str) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + ENCODER.encode(event) + b"\n\n"


def native_frame(ev: NativeFrame) -> bytes:
    head = b"event: " + ev.event.encode() + b"\n" if ev.event else b""
    return head + b"data: " + ev.data.encode() + b"\n\n"


def error_frame(body: bytes) -> bytes:
    return b"event: error\ndata: " + body + b"\n\n"


class EventWriter:
    """Turns canonical events into Anthropic SSE frames (see the module docstring)."""

    def __init__(self, *, id: str, model: str, provider: str, request_id: str, omit_thinking: bool) -> None:
        self._id, self._model, self._provider, self._request_id = id, model, provider, request_id
        self._omit_thinking = omit_thinking
        self._started = False
        self._kinds: dict[int, BlockKind] = {}
        self._redacted: set[int] = set()
        self._usage = Usage()
        self._stop: Stop | None = None

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        start = MessageStartOut(_StartMessage(self._id, self._model, usage_out(self._usage)))
        return [frame(start, "message_start"), PING]

    def event(self, ev: StreamEvent) -> list[bytes]:
        match ev:
            case UsageUpdate():
                self._usage = ev.usage
                return []
            case StreamStart() | ReplayUpdate() | LogprobsDelta() | NativeFrame():
                return []
            case Finish():
                if ev.candidate == 0:
                    self._stop = ev.stop
                return self._start()
        if ev.candidate != 0:
            return []
        match ev:
            case BlockStart():
                return [*self._start(), self._block_start(ev)]
            case BlockDelta():
                return self._delta(ev)
            case BlockStop():
                return self._block_stop(ev.index)
        return []  # pragma: no cover - every StreamEvent member is matched above

    def _block_start(self, ev: BlockStart) -> bytes:
        self._kinds[ev.index] = ev.kind
        block: BlockOut
        if ev.kind == "tool_call":
            block = ToolUseOut(ev.id, ev.name, _EMPTY_INPUT)
        elif ev.kind == "thinking" and ev.redacted:
            self._redacted.add(ev.index)
            block = RedactedThinkingOut(signature(self._provider, self._request_id, ev.index))
        elif ev.kind == "thinking":
            block = ThinkingOut("", "")
        else:
            block = TextOut("")
        return frame(BlockStartOut(ev.index, block), "content_block_start")

    def _delta(self, ev: BlockDelta) -> list[bytes]:
        kind = self._kinds.get(ev.index)
        delta: DeltaOut
        if kind == "tool_call":
            delta = JSONDeltaOut(ev.text)
        elif kind == "thinking":
            if self._omit_thinking or not ev.text or ev.index in self._redacted:
                return []
            delta = ThinkingDeltaOut(ev.text)
        elif kind == "text":
            delta = TextDeltaOut(ev.text)
        else:
            return []
        return [frame(BlockDeltaOut(ev.index, delta), "content_block_delta")]

    def _block_stop(self, index: int) -> list[bytes]:
        kind = self._kinds.pop(index, None)
        if kind is None:
            return []
        out = []
        if kind == "thinking" and index not in self._redacted:
            sig = SignatureDeltaOut(signature(self._provider, self._request_id, index))
            out.append(frame(BlockDeltaOut(index, sig), "content_block_delta"))
        out.append(frame(BlockStopOut(index), "content_block_stop"))
        return out

    def end(self, usage: Usage) -> list[bytes]:
        self._usage = usage
        out = self._start()
        for index in sorted(self._kinds):
            out.extend(self._block_stop(index))
        stop = self._stop or Stop("end_turn")
        sequence = stop.sequence if stop.reason == "stop_sequence" else None
        delta = MessageDeltaOut(MessageDeltaBody(STOP_REASONS[stop.reason], sequence), usage_out(usage))
        out.append(frame(delta, "message_delta"))
        out.append(frame(MessageStopOut(), "message_stop"))
        return out
