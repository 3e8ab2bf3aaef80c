"""Gemini ``:streamGenerateContent?alt=sse`` events -> canonical stream events.

Each SSE event carries one complete ``GenerateContentResponse`` with only the new parts. Per candidate the
decoder keeps the block being written and emits:

- ``StreamStart`` on the first event (id = ``responseId``, model = ``modelVersion``);
- for a non-empty text part: ``BlockDelta`` on the open block when it is of the same kind (``thought: true``
  parts are thinking, others text), else ``BlockStop`` for the open block and ``BlockStart`` + ``BlockDelta``
  for a new one, so adjacent parts of one kind make one block, as in ``response.py``;
- per ``functionCall`` (Gemini sends each one whole) ``BlockStart`` with its id and name, one ``BlockDelta``
  with the complete JSON arguments, ``BlockStop``;
- ``LogprobsDelta`` for a chunk's ``logprobsResult``; ``ReplayUpdate`` whenever a signature or a Gemini call id
  arrives (the whole replay document so far, see ``replay``);
- ``Finish`` when a candidate carries ``finishReason`` (``tool_use`` if it made calls), or ``content_filter``
  for a chunk with ``promptFeedback.blockReason``;
- ``UsageUpdate`` for every chunk with ``usageMetadata`` (Gemini repeats the running total; the last wins).

An ``{"error": ...}`` event raises its GatewayError. ``close`` at upstream EOF finishes every candidate that
got no ``finishReason`` (``tool_use`` if it made calls): Gemini ends streams by closing them, and a reply cut
short after whole parts is still usable. A stream that closes before any event is an ``UpstreamProtocolError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentoken.core.errors import UpstreamProtocolError
from opentoken.core.result import (
    BlockDelta,
    BlockKind,
    BlockStart,
    BlockStop,
    Finish,
    LogprobsDelta,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    UsageUpdate,
)
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini import wire
from opentoken.providers.gemini.replay import ReplayBuilder
from opentoken.providers.gemini.response import (
    IdFactory,
    arguments_json,
    candidate_index,
    decode_reply,
    map_logprobs,
    map_usage,
    new_call_id,
    stop_of,
)


@dataclass
class _CandidateState:
    blocks: int = 0  # canonical block indices handed out
    open: tuple[int, BlockKind] | None = None  # the text or thinking block being written
    calls: int = 0
    finished: bool = False
    replay: ReplayBuilder = field(default_factory=ReplayBuilder)

    def close_open(self, candidate: int) -> list[StreamEvent]:
        if self.open is None:
            return []
        index, self.open = self.open[0], None
        return [BlockStop(index, candidate)]

    def start(self, kind: BlockKind, candidate: int, id: str = "", name: str = "") -> tuple[int, list[StreamEvent]]:
        out = self.close_open(candidate)
        index = self.blocks
        self.blocks += 1
        out.append(BlockStart(index, kind, id=id, name=name, candidate=candidate))
        return index, out

    def text(self, text: str, kind: BlockKind, candidate: int) -> list[StreamEvent]:
        if self.open is not None and self.open[1] == kind:
            return [BlockDelta(self.open[0], text, candidate)]
        index, out = self.start(kind, candidate)
        self.open = (index, kind)
        return [*out, BlockDelta(index, text, candidate)]


class GeminiStreamDecoder:
    """Fed one SSE event at a time; see the module docstring for the events it emits."""

    def __init__(self, new_id: IdFactory = new_call_id) -> None:
        self._new_id = new_id
        self._started = False
        self._candidates: dict[int, _CandidateState] = {}

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        data = event.data.strip()
        if not data:
            return []
        reply = decode_reply(data)
        out: list[StreamEvent] = []
        if not self._started:
            self._started = True
            out.append(StreamStart(id=reply.response_id or "", upstream_model=reply.model_version))
        for position, candidate in enumerate(reply.candidates):
            out.extend(self._candidate(candidate_index(candidate, position), candidate))
        feedback = reply.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            out.extend(self._finish(0, Stop("content_filter", raw=feedback.block_reason)))
        if reply.usage_metadata is not None:
            out.append(UsageUpdate(map_usage(reply.usage_metadata)))
        return out

    def close(self) -> list[StreamEvent]:
        if not self._started:
            raise UpstreamProtocolError("Gemini closed the stream before sending any event.")
        if not self._candidates:
            return [Finish(Stop("end_turn"), candidate=0)]
        out: list[StreamEvent] = []
        for index, state in sorted(self._candidates.items()):
            out.extend(self._finish(index, stop_of(None, state.calls > 0)))
        return out

    def _state(self, index: int) -> _CandidateState:
        state = self._candidates.get(index)
        if state is None:
            state = self._candidates[index] = _CandidateState()
        return state

    def _finish(self, index: int, stop: Stop) -> list[StreamEvent]:
        state = self._state(index)
        if state.finished:
            return []
        state.finished = True
        return [*state.close_open(index), Finish(stop, candidate=index)]

    def _candidate(self, index: int, candidate: wire.Candidate) -> list[StreamEvent]:
        state = self._state(index)
        out: list[StreamEvent] = []
        replay_changed = False
        for part in candidate.content.parts if candidate.content else []:
            call_id = None
            if part.function_call is not None:
                call = part.function_call
                call_id = call.id or self._new_id()
                block, started = state.start("tool_call", index, id=call_id, name=call.name)
                out += [*started, BlockDelta(block, arguments_json(call), index), BlockStop(block, index)]
                state.calls += 1
            elif part.text:
                out.extend(state.text(part.text, "thinking" if part.thought else "text", index))
            replay_changed = state.replay.add_part(part, call_id) or replay_changed
        replay = state.replay.state() if replay_changed else None
        if replay is not None:
            out.append(ReplayUpdate(replay, candidate=index))
        if candidate.logprobs_result is not None:
            out.append(LogprobsDelta(map_logprobs(candidate.logprobs_result), candidate=index))
        if candidate.finish_reason is not None:
            out.extend(self._finish(index, stop_of(candidate.finish_reason, state.calls > 0)))
        return out
