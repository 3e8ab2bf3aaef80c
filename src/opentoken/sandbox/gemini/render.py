"""Gemini reply rendering: one GenerateContentResponse, or the SSE chunks of a stream.

Streams follow the recordings: ``data: <json>\\r\\n\\r\\n`` (``": "`` after keys, no space after ``,``), no
``[DONE]``, thought parts first, function calls whole (one per chunk, or all in the final chunk on models
before 2.5), ``usageMetadata`` cumulative in every chunk, ``finishReason`` only in the last chunk.
"""

from __future__ import annotations

import json
import random
import secrets
import string
from dataclasses import dataclass
from typing import Any

from opentoken.sandbox.gemini.parse import GenerateCall
from opentoken.sandbox.gemini.signatures import CALL_KIND, TEXT_KIND
from opentoken.sandbox.scenario import Completion, Finish
from opentoken.sandbox.signing import Signer
from opentoken.sandbox.streaming import Frame
from opentoken.sandbox.tokens import group

_TEXT_GROUPS = (6, 11, 8)
_THOUGHT_GROUPS = (12, 9)
_FINISH = {Finish.MAX_TOKENS: "MAX_TOKENS", Finish.SAFETY: "SAFETY", Finish.REFUSAL: "SAFETY"}
_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)  # fmt: skip
_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Candidate:
    index: int
    completion: Completion
    call_ids: tuple[str, ...]
    signature: str | None


@dataclass(frozen=True)
class GeminiReply:
    call: GenerateCall
    candidates: tuple[Candidate, ...]
    cached_tokens: int
    response_id: str

    @property
    def blocked(self) -> bool:
        return self.candidates[0].completion.finish is Finish.BLOCKED


def build_reply(call: GenerateCall, completions: list[Completion], cached: int, signer: Signer) -> GeminiReply:
    signs = call.model.gen3 or call.thinking
    candidates = []
    for index, completion in enumerate(completions):
        ids = tuple("".join(random.choices(_ID_ALPHABET, k=8)) for _ in completion.calls)
        signature = None
        if signs and completion.calls:
            signature = signer.sign(CALL_KIND, completion.calls[0].name.encode(), completion.text_str.encode())
        elif signs and (completion.text or completion.thinking):
            signature = signer.sign(TEXT_KIND, completion.text_str.encode(), completion.thinking_str.encode())
        candidates.append(Candidate(index, completion, ids if call.model.call_ids else (), signature))
    return GeminiReply(call, tuple(candidates), cached, secrets.token_urlsafe(16)[:22])


def usage_metadata(reply: GeminiReply, candidates: int, thoughts: int) -> dict[str, Any]:
    call = reply.call
    prompt = call.input_tokens
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = prompt + candidates + thoughts
    if reply.cached_tokens:
        usage["cachedContentTokenCount"] = reply.cached_tokens
    details = [{"modality": "TEXT", "tokenCount": prompt - call.image_tokens}]
    if call.image_tokens:
        details.append({"modality": "IMAGE", "tokenCount": call.image_tokens})
    usage["promptTokensDetails"] = details
    if reply.cached_tokens:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.cached_tokens}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["serviceTier"] = "standard"
    return usage


def _totals(reply: GeminiReply) -> tuple[int, int]:
    done = [c.completion for c in reply.candidates]
    return sum(c.text_tokens + c.call_tokens for c in done), sum(c.thinking_tokens for c in done)


def _call_parts(candidate: Candidate) -> list[dict[str, Any]]:
    parts = []
    for k, call in enumerate(candidate.completion.calls):
        function: dict[str, Any] = {"name": call.name, "args": call.arguments}
        if candidate.call_ids:
            function["id"] = candidate.call_ids[k]
        part: dict[str, Any] = {"functionCall": function}
        if k == 0 and candidate.signature:
            part["thoughtSignature"] = candidate.signature
        parts.append(part)
    return parts


def _candidate(candidate: Candidate, parts: list[dict[str, Any]] | None, final: bool) -> dict[str, Any]:
    completion = candidate.completion
    finish = _FINISH.get(completion.finish, "STOP")
    if finish == "SAFETY":
        ratings: list[dict[str, Any]] = [{"category": c, "probability": "NEGLIGIBLE"} for c in _CATEGORIES]
        ratings[0] = {"category": _CATEGORIES[0], "probability": "MEDIUM", "blocked": True}
        return {"content": {}, "finishReason": finish, "index": candidate.index, "safetyRatings": ratings}
    out: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {"role": "model"}}
    if final:
        out["finishReason"] = finish
    out["index"] = candidate.index
    return out


def _blocked_body(reply: GeminiReply) -> dict[str, Any]:
    ratings = [{"category": c, "probability": "NEGLIGIBLE"} for c in _CATEGORIES]
    ratings[0] = {"category": _CATEGORIES[0], "probability": "HIGH"}
    return {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": ratings},
        "usageMetadata": usage_metadata(reply, 0, 0),
        "modelVersion": reply.call.model.name,
        "responseId": reply.response_id,
    }


def response_body(reply: GeminiReply) -> dict[str, Any]:
    if reply.blocked:
        return _blocked_body(reply)
    rendered = []
    for candidate in reply.candidates:
        completion = candidate.completion
        parts: list[dict[str, Any]] = []
        if reply.call.include_thoughts and completion.thinking:
            parts.append({"text": completion.thinking_str, "thought": True})
        if completion.text:
            parts.append({"text": completion.text_str})
        if completion.calls:
            parts.extend(_call_parts(candidate))
        elif candidate.signature and parts:
            parts[-1] = {**parts[-1], "thoughtSignature": candidate.signature}
        item = _candidate(candidate, parts, final=True)
        if completion.calls and reply.call.model.gen3:
            item["finishMessage"] = "Model generated function call(s)."
        rendered.append(item)
    candidates, thoughts = _totals(reply)
    return {
        "candidates": rendered,
        "usageMetadata": usage_metadata(reply, candidates, thoughts),
        "modelVersion": reply.call.model.name,
        "responseId": reply.response_id,
    }


def _frame(payload: dict[str, Any], tokens: int) -> Frame:
    text = json.dumps(payload, separators=(",", ": "), ensure_ascii=False)
    return Frame(b"data: " + text.encode() + b"\r\n\r\n", tokens)


def stream_frames(reply: GeminiReply) -> list[Frame]:
    if reply.blocked:
        return [_frame(_blocked_body(reply), 0)]
    frames: list[Frame] = []
    shown_thoughts = reply.call.include_thoughts
    counted = [0, 0 if shown_thoughts else _totals(reply)[1]]
    for candidate in reply.candidates:
        for parts, final, out_tokens, thought_tokens in _steps(reply, candidate):
            counted[0] += out_tokens
            counted[1] += thought_tokens
            chunk = {
                "candidates": [_candidate(candidate, parts, final)],
                "usageMetadata": usage_metadata(reply, counted[0], counted[1]),
                "modelVersion": reply.call.model.name,
                "responseId": reply.response_id,
            }
            frames.append(_frame(chunk, out_tokens + thought_tokens))
    return frames


Step = tuple[list[dict[str, Any]] | None, bool, int, int]


def _steps(reply: GeminiReply, candidate: Candidate) -> list[Step]:
    """(parts, is final, output tokens, thought tokens) per chunk of one candidate."""
    completion = candidate.completion
    if completion.finish in (Finish.SAFETY, Finish.REFUSAL):
        return [(None, True, completion.text_tokens, completion.thinking_tokens)]
    steps: list[Step] = []
    if reply.call.include_thoughts:
        steps += [([{"text": t, "thought": True}], False, 0, n) for t, n in group(completion.thinking, _THOUGHT_GROUPS)]
    steps += [([{"text": t}], False, n, 0) for t, n in group(completion.text, _TEXT_GROUPS)]
    calls = _call_parts(candidate)
    if calls and reply.call.model.calls_in_one_chunk:
        return [*steps, (calls, True, completion.call_tokens, 0)]
    for part, call in zip(calls, completion.calls, strict=True):
        steps.append(([part], False, call.tokens, 0))
    if not completion.text and not calls and completion.finish is Finish.MAX_TOKENS:
        return [*steps, (None, True, 0, 0)]
    if completion.text and not calls:
        parts, _, out_tokens, thought_tokens = steps[-1]
        last = dict((parts or [{}])[0])
        if candidate.signature:
            last["thoughtSignature"] = candidate.signature
        steps[-1] = ([last], True, out_tokens, thought_tokens)
        return steps
    final_part: dict[str, Any] = {"text": ""}
    if candidate.signature and not calls:
        final_part["thoughtSignature"] = candidate.signature
    return [*steps, ([final_part], True, 0, 0)]
