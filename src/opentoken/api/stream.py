"""Canonical stream events -> OpenAI ``chat.completion.chunk`` SSE frames.

Order per choice: a role chunk first, then content / reasoning / tool-call deltas (tool-call ``index`` counts
calls from 0, id/type/name only on a call's first delta), one finish chunk; after the upstream ends, the
usage chunk (``choices: []``) when ``include_usage`` was asked, then ``data: [DONE]``.
"""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, Struct, UnsetType

from opentoken.api.response import ENCODER, LogprobsOut, UsageOut, error_json, logprobs_out
from opentoken.core.result import (
    Finish,
    LogprobsDelta,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
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
            case TextDelta():
                return self._delta(ev.choice, DeltaOut(content=ev.text)) if ev.text else []
            case ReasoningDelta():
                if not self._with_reasoning or not ev.text:
                    return []
                return self._delta(ev.choice, DeltaOut(reasoning_content=ev.text))
            case ToolCallStart():
                call = ToolCallDeltaOut(
                    index=ev.index, id=ev.id, type="function", function=FunctionDeltaOut(name=ev.name, arguments="")
                )
                return self._delta(ev.choice, DeltaOut(tool_calls=[call]))
            case ToolCallDelta():
                if not ev.arguments:
                    return []
                call = ToolCallDeltaOut(index=ev.index, function=FunctionDeltaOut(arguments=ev.arguments))
                return self._delta(ev.choice, DeltaOut(tool_calls=[call]))
            case LogprobsDelta():
                return self._delta(ev.choice, DeltaOut(), logprobs_out(ev.logprobs))
            case Finish():
                return [*self.start(ev.choice), self._frame(ChunkChoiceOut(ev.choice, DeltaOut(), None, ev.reason))]
            case _:
                return []

    def usage(self, usage: UsageOut) -> bytes:
        chunk = UsageChunkOut(id=self.id, created=self.created, model=self.model, choices=[], usage=usage)
        return b"data: " + ENCODER.encode(chunk) + b"\n\n"

    @staticmethod
    def error(message: str, type: str, param: str | None, code: str | None) -> bytes:
        return b"data: " + error_json(message, type, param, code) + b"\n\n"
