"""Gemini SSE rendering with the recorded chunking and framing.

Each chunk is ``data: <json>\\r\\n\\r\\n`` (``": "`` after keys, no space after ``,``); there is no ``[DONE]``.
Thought parts come first, function calls arrive whole (one per chunk, or all together in the final chunk on
models before 2.5), ``usageMetadata`` is cumulative in every chunk, ``modelVersion`` and ``responseId`` repeat,
and ``finishReason`` appears only in the last chunk (with the last text piece, or an empty text part after
function calls).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from opentoken_sandbox.gemini.render import (
    Candidate,
    GeminiReply,
    blocked_body,
    call_parts,
    candidate_item,
    logprobs_result,
    totals,
    usage_metadata,
)
from opentoken_sandbox.scenario import Finish
from opentoken_sandbox.streaming import Frame
from opentoken_sandbox.tokens import group

_TEXT_GROUPS = (6, 11, 8)
_THOUGHT_GROUPS = (12, 9)


@dataclass(frozen=True)
class _Step:
    """One chunk of one candidate."""

    parts: list[dict[str, Any]] | None
    final: bool = False
    output: int = 0
    thoughts: int = 0
    tokens: tuple[str, ...] = field(default=())
    offset: int = 0


def _frame(payload: dict[str, Any], tokens: int) -> Frame:
    text = json.dumps(payload, separators=(",", ": "), ensure_ascii=False)
    return Frame(b"data: " + text.encode() + b"\r\n\r\n", tokens)


def stream_frames(reply: GeminiReply) -> list[Frame]:
    if reply.blocked:
        return [_frame(blocked_body(reply), 0)]
    frames: list[Frame] = []
    output = 0
    thoughts = 0 if reply.call.include_thoughts else totals(reply)[1]
    top = reply.call.logprobs
    for candidate in reply.candidates:
        for step in _steps(reply, candidate):
            output += step.output
            thoughts += step.thoughts
            logprobs = logprobs_result(step.tokens, top, step.offset) if top is not None and step.tokens else None
            chunk = {
                "candidates": [candidate_item(candidate, step.parts, step.final, logprobs)],
                "usageMetadata": usage_metadata(reply, output, thoughts),
                "modelVersion": reply.call.model.name,
                "responseId": reply.response_id,
            }
            frames.append(_frame(chunk, step.output + step.thoughts))
    return frames


def _text_steps(reply: GeminiReply, candidate: Candidate) -> list[_Step]:
    completion = candidate.completion
    steps: list[_Step] = []
    if reply.call.include_thoughts:
        for text, n in group(completion.thinking, _THOUGHT_GROUPS):
            steps.append(_Step([{"text": text, "thought": True}], thoughts=n))
    offset = 0
    for text, n in group(completion.text, _TEXT_GROUPS):
        steps.append(_Step([{"text": text}], output=n, tokens=completion.text[offset : offset + n], offset=offset))
        offset += n
    return steps


def _steps(reply: GeminiReply, candidate: Candidate) -> list[_Step]:
    completion = candidate.completion
    if completion.finish in (Finish.SAFETY, Finish.REFUSAL):
        return [_Step(None, True, completion.text_tokens, completion.thinking_tokens)]
    steps = _text_steps(reply, candidate)
    calls = call_parts(candidate)
    if calls and reply.call.model.calls_in_one_chunk:
        return [*steps, _Step(calls, True, completion.call_tokens)]
    steps += [_Step([part], output=call.tokens) for part, call in zip(calls, completion.calls, strict=True)]
    if not completion.text and not calls and completion.finish is Finish.MAX_TOKENS:
        return [*steps, _Step(None, True)]
    if completion.text and not calls:
        last = steps[-1]
        part = dict((last.parts or [{}])[0])
        if candidate.signature:
            part["thoughtSignature"] = candidate.signature
        steps[-1] = replace(last, parts=[part], final=True)
        return steps
    final_part: dict[str, Any] = {"text": ""}
    if candidate.signature and not calls:
        final_part["thoughtSignature"] = candidate.signature
    return [*steps, _Step([final_part], True)]
