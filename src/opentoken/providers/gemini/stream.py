"""Gemini ``:streamGenerateContent?alt=sse`` events -> canonical stream events.

Each SSE event carries one complete ``GenerateContentResponse`` with only the new parts. The decoder emits:

- ``StreamStart`` on the first event (id = ``responseId``, model = ``modelVersion``);
- ``TextDelta`` per non-empty text part, ``ReasoningDelta`` per non-empty ``thought`` part;
- per ``functionCall`` (Gemini sends each one whole) a ``ToolCallStart`` and one ``ToolCallDelta`` with the
  complete JSON arguments; ``index`` counts the calls of the choice from 0;
- ``LogprobsDelta`` for a chunk's ``logprobsResult``; ``ReplayUpdate`` whenever a signature or a Gemini call id
  arrives (the whole replay document so far, see ``replay``);
- ``Finish`` when a candidate carries ``finishReason`` (``tool_calls`` if the choice made calls), or
  ``content_filter`` for a chunk with ``promptFeedback.blockReason``;
- ``UsageUpdate`` for every chunk with ``usageMetadata`` (Gemini repeats the running total; the last wins).

An ``{"error": ...}`` event raises its GatewayError. ``close`` at upstream EOF finishes every choice that got
no ``finishReason`` with ``stop`` (``tool_calls`` if it made calls): Gemini ends streams by closing them, and
a reply cut short after whole parts is still usable. A stream that closes before any event is an
``UpstreamProtocolError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentoken.core.errors import UpstreamProtocolError
from opentoken.core.result import (
    Finish,
    FinishReason,
    LogprobsDelta,
    ReasoningDelta,
    ReplayUpdate,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
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
    finish_reason,
    map_logprobs,
    map_usage,
    new_call_id,
    new_response_id,
)


@dataclass
class _ChoiceState:
    calls: int = 0
    finished: bool = False
    replay: ReplayBuilder = field(default_factory=ReplayBuilder)


class GeminiStreamDecoder:
    """Fed one SSE event at a time; see the module docstring for the events it emits."""

    def __init__(self, new_id: IdFactory = new_call_id) -> None:
        self._new_id = new_id
        self._started = False
        self._choices: dict[int, _ChoiceState] = {}

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        data = event.data.strip()
        if not data:
            return []
        reply = decode_reply(data)
        out: list[StreamEvent] = []
        if not self._started:
            self._started = True
            out.append(StreamStart(id=reply.response_id or new_response_id(), upstream_model=reply.model_version))
        for position, candidate in enumerate(reply.candidates):
            out.extend(self._candidate(candidate_index(candidate, position), candidate))
        if reply.prompt_feedback is not None and reply.prompt_feedback.block_reason is not None:
            out.extend(self._finish(0, "content_filter"))
        if reply.usage_metadata is not None:
            out.append(UsageUpdate(map_usage(reply.usage_metadata)))
        return out

    def close(self) -> list[StreamEvent]:
        if not self._started:
            raise UpstreamProtocolError("Gemini closed the stream before sending any event.")
        if not self._choices:
            return [Finish("stop", choice=0)]
        out: list[StreamEvent] = []
        for index, state in sorted(self._choices.items()):
            if not state.finished:
                out.extend(self._finish(index, "tool_calls" if state.calls else "stop"))
        return out

    def _state(self, index: int) -> _ChoiceState:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState()
        return state

    def _finish(self, index: int, reason: FinishReason) -> list[StreamEvent]:
        state = self._state(index)
        if state.finished:
            return []
        state.finished = True
        return [Finish(reason, choice=index)]

    def _candidate(self, index: int, candidate: wire.Candidate) -> list[StreamEvent]:
        state = self._state(index)
        out: list[StreamEvent] = []
        replay_changed = False
        for part in candidate.content.parts if candidate.content else []:
            call_id = None
            if part.function_call is not None:
                call = part.function_call
                call_id = call.id or self._new_id()
                out.append(ToolCallStart(index=state.calls, id=call_id, name=call.name, choice=index))
                out.append(ToolCallDelta(index=state.calls, arguments=arguments_json(call), choice=index))
                state.calls += 1
            elif part.text:
                out.append(ReasoningDelta(part.text, index) if part.thought else TextDelta(part.text, index))
            replay_changed = state.replay.add_part(part, call_id) or replay_changed
        replay = state.replay.state() if replay_changed else None
        if replay is not None:
            out.append(ReplayUpdate(replay, choice=index))
        if candidate.logprobs_result is not None:
            out.append(LogprobsDelta(map_logprobs(candidate.logprobs_result), choice=index))
        if candidate.finish_reason is not None:
            out.extend(self._finish(index, finish_reason(candidate.finish_reason, state.calls > 0)))
        return out
