"""Canonical stream events -> OpenAI ``chat.completion.chunk`` SSE frames.

Order per choice: a role chunk first, then content / reasoning / tool-call deltas, one finish chunk; after the
upstream ends, the usage chunk (``choices: []``) when ``include_usage`` was asked, then ``data: [DONE]``.

- Text blocks stream as ``content``; thinking blocks as ``reasoning_content`` (a second thinking block opens
  with a blank line, as the non-stream reply joins them).
- A tool-call block is one entry of ``tool_calls`` whose ``index`` counts the choice's tool calls from 0 (never
  a block index): id, type and name on its first delta with ``arguments: ""``, then argument fragments. A call
  whose block ends without any argument text gets ``"{}"``, so the joined arguments always parse as a JSON
  object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, assert_never

from msgspec import UNSET, Struct, UnsetType

from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    LogprobsDelta,
    NativeFrame,
    ReplayUpdate,
    StreamEvent,
    StreamStart,
    UsageUpdate,
)
from opentoken.ingress.openai.errors import ENCODER, error_json
from opentoken.ingress.openai_chat.render import (
    FINISH_REASONS,
    REASONING_SEPARATOR,
    LogprobsOut,
    UsageOut,
    logprobs_out,
)

DONE = b"data: [DONE]\n\n"


class FunctionDeltaOut(Struct, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class ToolCallDeltaOut(Struct, omit_defaults=True):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDeltaOut | None = None


class DeltaOut(Struct, omit_defaults=True):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDeltaOut] | None = None


class ChunkChoiceOut(Struct):
    index: int
    delta: DeltaOut
    logprobs: LogprobsOut | None = None
    finish_reason: str | None = None


class UsageChunkOut(Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoiceOut]
    usage: UsageOut | UnsetType = UNSET
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"


@dataclass
class _OpenCall:
    tool: int  # the call's index among the choice's tool calls
    got_arguments: bool = False


class ChunkWriter:
    """Turns canonical events into SSE frames (bytes). One instance per response stream."""

    def __init__(self, *, id: str, created: int, model: str, with_reasoning: bool = True) -> None:
        self.id, self.created, self.model = id, created, model
        self._with_reasoning = with_reasoning
        head = ENCODER.encode(UsageChunkOut(id=id, created=created, model=model, choices=[]))
        # b'{"id":..,"created":..,"model":..,"choices":[]' -> frames are head + choice + tail
        cut = head.index(b'"choices":[') + len(b'"choices":[')
        self._prefix = b"data: " + head[:cut]
        self._suffix = head[cut:] + b"\n\n"  # '],"object":"chat.completion.chunk"}\n\n'
        self._started: set[int] = set()
        self._tools: dict[int, int] = {}  # candidate -> index of its last tool call
        self._calls: dict[tuple[int, int], _OpenCall] = {}  # tool-call blocks not yet stopped
        self._thinking: dict[tuple[int, int], bool] = {}  # thinking blocks -> whether a separator is due
        self._thought: set[int] = set()  # candidates that streamed some reasoning text

    def _frame(self, choice: ChunkChoiceOut) -> bytes:
        return self._prefix + ENCODER.encode(choice) + self._suffix

    def _delta(self, index: int, delta: DeltaOut, logprobs: LogprobsOut | None = None) -> list[bytes]:
        frames = []
        if index not in self._started:
            self._started.add(index)
            frames.append(self._frame(ChunkChoiceOut(index, DeltaOut(role="assistant", content=""))))
        frames.append(self._frame(ChunkChoiceOut(index, delta, logprobs)))
        return frames

    def start(self, choice: int = 0) -> list[bytes]:
        if choice in self._started:
            return []
        self._started.add(choice)
        return [self._frame(ChunkChoiceOut(choice, DeltaOut(role="assistant", content="")))]

    def event(self, ev: StreamEvent) -> list[bytes]:
        match ev:
            case BlockStart():
                return self._block_start(ev)
            case BlockDelta():
                return self._block_delta(ev)
            case BlockStop():
                return self._block_stop(ev)
            case LogprobsDelta():
                return self._delta(ev.candidate, DeltaOut(), logprobs_out(ev.logprobs))
            case Finish():
                finish = ChunkChoiceOut(ev.candidate, DeltaOut(), None, FINISH_REASONS[ev.stop.reason])
                return [*self.start(ev.candidate), self._frame(finish)]
            case StreamStart() | ReplayUpdate() | UsageUpdate() | NativeFrame():
                return []
            case _:
                assert_never(ev)

    def _block_start(self, ev: BlockStart) -> list[bytes]:
        key = (ev.candidate, ev.index)
        if ev.kind == "tool_call":
            tool = self._tools[ev.candidate] = self._tools.get(ev.candidate, -1) + 1
            self._calls[key] = _OpenCall(tool)
            fn = FunctionDeltaOut(name=ev.name, arguments="")
            return self._delta(ev.candidate, DeltaOut(tool_calls=[ToolCallDeltaOut(tool, ev.id, "function", fn)]))
        if ev.kind == "thinking":
            self._thinking[key] = ev.candidate in self._thought  # a blank line before its first text
        return []

    def _block_delta(self, ev: BlockDelta) -> list[bytes]:
        key = (ev.candidate, ev.index)
        if not ev.text:
            return []
        call = self._calls.get(key)
        if call is not None:
            call.got_arguments = True
            fragment = ToolCallDeltaOut(index=call.tool, function=FunctionDeltaOut(arguments=ev.text))
            return self._delta(ev.candidate, DeltaOut(tool_calls=[fragment]))
        if key in self._thinking:
            if not self._with_reasoning:
                return []
            text = REASONING_SEPARATOR + ev.text if self._thinking[key] else ev.text
            self._thinking[key] = False
            self._thought.add(ev.candidate)
            return self._delta(ev.candidate, DeltaOut(reasoning_content=text))
        return self._delta(ev.candidate, DeltaOut(content=ev.text))

    def _block_stop(self, ev: BlockStop) -> list[bytes]:
        call = self._calls.pop((ev.candidate, ev.index), None)
        if call is None or call.got_arguments:
            return []
        empty = ToolCallDeltaOut(index=call.tool, function=FunctionDeltaOut(arguments="{}"))
        return self._delta(ev.candidate, DeltaOut(tool_calls=[empty]))

    def usage(self, usage: UsageOut) -> bytes:
        chunk = UsageChunkOut(id=self.id, created=self.created, model=self.model, choices=[], usage=usage)
        return b"data: " + ENCODER.encode(chunk) + b"\n\n"

    @staticmethod
    def error(message: str, type: str, param: str | None, code: str | None) -> bytes:
        return b"data: " + error_json(message, type, param, code) + b"\n\n"
