"""Gemini reply rendering: candidates, usageMetadata, logprobs and the whole GenerateContentResponse."""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.gemini.grounding import grounding_for
from opentoken_sandbox.gemini.parse import GenerateCall
from opentoken_sandbox.gemini.signatures import CALL_KIND, TEXT_KIND
from opentoken_sandbox.scenario import Completion, Finish
from opentoken_sandbox.signing import Signer

_FINISH = {Finish.MAX_TOKENS: "MAX_TOKENS", Finish.SAFETY: "SAFETY", Finish.REFUSAL: "SAFETY"}
_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)  # fmt: skip
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ALTERNATIVES = (
    " the",
    " a",
    ".",
    ",",
    " and",
    " of",
    " to",
    " in",
    " is",
    " it",
    " that",
    " for",
    " on",
    " with",
    " as",
    " was",
    " at",
    " by",
    " an",
    " be",
)


@dataclass(frozen=True)
class Candidate:
    index: int
    completion: Completion
    call_ids: tuple[str, ...]
    signature: str | None
    grounding: dict[str, Any] | None = None


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
        grounding = grounding_for(call, completion)
        candidates.append(Candidate(index, completion, ids if call.model.call_ids else (), signature, grounding))
    return GeminiReply(call, tuple(candidates), cached, secrets.token_urlsafe(16)[:22])


def prompt_details(prompt: int, images: int) -> list[dict[str, Any]]:
    """``promptTokensDetails`` by modality (generateContent usage and countTokens)."""
    details: list[dict[str, Any]] = [{"modality": "TEXT", "tokenCount": prompt - images}]
    if images:
        details.append({"modality": "IMAGE", "tokenCount": images})
    return details


def usage_metadata(reply: GeminiReply, candidates: int, thoughts: int) -> dict[str, Any]:
    call = reply.call
    prompt = call.input_tokens
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = prompt + candidates + thoughts
    if reply.cached_tokens:
        usage["cachedContentTokenCount"] = reply.cached_tokens
    usage["promptTokensDetails"] = prompt_details(prompt, call.image_tokens)
    if reply.cached_tokens:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.cached_tokens}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["serviceTier"] = "standard"
    return usage


def totals(reply: GeminiReply) -> tuple[int, int]:
    done = [c.completion for c in reply.candidates]
    return sum(c.text_tokens + c.call_tokens for c in done), sum(c.thinking_tokens for c in done)


def call_parts(candidate: Candidate) -> list[dict[str, Any]]:
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


def _logprob(position: int) -> float:
    return -0.05 * (position % 5 + 1)


def logprobs_result(tokens: tuple[str, ...], top: int, offset: int = 0) -> dict[str, Any]:
    """``logprobsResult`` for answer tokens: deterministic log-probabilities, ``top`` alternatives each."""
    chosen = [{"token": t, "logProbability": _logprob(offset + i)} for i, t in enumerate(tokens)]
    out: dict[str, Any] = {}
    if top:
        out["topCandidates"] = [
            {
                "candidates": [
                    chosen[i],
                    *(
                        {"token": alt, "logProbability": _logprob(offset + i) - 1.0 - k}
                        for k, alt in enumerate(_ALTERNATIVES[: top - 1])
                    ),
                ]
            }
            for i in range(len(chosen))
        ]
    out["chosenCandidates"] = chosen
    return out


def candidate_item(
    candidate: Candidate, parts: list[dict[str, Any]] | None, final: bool, logprobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    completion = candidate.completion
    finish = _FINISH.get(completion.finish, "STOP")
    if finish == "SAFETY":
        ratings: list[dict[str, Any]] = [{"category": c, "probability": "NEGLIGIBLE"} for c in _CATEGORIES]
        ratings[0] = {"category": _CATEGORIES[0], "probability": "MEDIUM", "blocked": True}
        return {"content": {}, "finishReason": finish, "index": candidate.index, "safetyRatings": ratings}
    out: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {"role": "model"}}
    if final:
        out["finishReason"] = finish
        if candidate.grounding is not None:
            out["groundingMetadata"] = candidate.grounding
    if logprobs is not None:
        chosen = logprobs["chosenCandidates"]
        if final and chosen:
            out["avgLogprobs"] = sum(c["logProbability"] for c in chosen) / len(chosen)
        out["logprobsResult"] = logprobs
    out["index"] = candidate.index
    return out


def blocked_body(reply: GeminiReply) -> dict[str, Any]:
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
        return blocked_body(reply)
    rendered = []
    for candidate in reply.candidates:
        completion = candidate.completion
        parts: list[dict[str, Any]] = []
        if reply.call.include_thoughts and completion.thinking:
            parts.append({"text": completion.thinking_str, "thought": True})
        if completion.text:
            parts.append({"text": completion.text_str})
        if completion.calls:
            parts.extend(call_parts(candidate))
        elif candidate.signature and parts:
            parts[-1] = {**parts[-1], "thoughtSignature": candidate.signature}
        logprobs = None
        if reply.call.logprobs is not None:
            logprobs = logprobs_result(completion.text, reply.call.logprobs)
        item = candidate_item(candidate, parts, final=True, logprobs=logprobs)
        if completion.calls and reply.call.model.gen3:
            item["finishMessage"] = "Model generated function call(s)."
        rendered.append(item)
    candidates, thoughts = totals(reply)
    return {
        "candidates": rendered,
        "usageMetadata": usage_metadata(reply, candidates, thoughts),
        "modelVersion": reply.call.model.name,
        "responseId": reply.response_id,
    }
