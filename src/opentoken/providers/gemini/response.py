"""Gemini ``GenerateContentResponse`` -> canonical ChatResult; the tables shared with the stream decoder.

- Each candidate becomes a Choice (``candidate.index``, else its position). Text parts are joined into
  ``content``; ``thought: true`` parts into ``reasoning``; each ``functionCall`` becomes a ToolCall whose id is
  Gemini's ``functionCall.id`` when present, otherwise ``call_`` + 24 random letters and digits; its
  arguments are the JSON text of ``args``. ``content`` is None when the choice has only tool calls.
- Finish reasons follow the table below; a choice that made tool calls always finishes with ``tool_calls``.
- A prompt blocked before generation (``promptFeedback.blockReason``, no candidates) is one Choice with
  ``content`` None and ``content_filter``.
- Signatures and Gemini call ids go to ``Choice.replay`` (see ``replay``).
- Usage: input = promptTokenCount + toolUsePromptTokenCount - cachedContentTokenCount; cache read =
  cachedContentTokenCount; output = candidatesTokenCount + thoughtsTokenCount, except for replies whose
  prompt + tool-use prompt + candidates already equals the total (older models counted thoughts inside
  candidates); reasoning = thoughtsTokenCount.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable

import msgspec

from opentoken.core.chat import ToolCall
from opentoken.core.errors import UpstreamProtocolError
from opentoken.core.result import ChatResult, Choice, FinishReason, TokenLogprob, Usage
from opentoken.providers.gemini import wire
from opentoken.providers.gemini.errors import error_from_status
from opentoken.providers.gemini.replay import ReplayBuilder

IdFactory = Callable[[], str]

_ALPHABET = string.ascii_letters + string.digits
_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "OTHER",
    }
)


def new_call_id() -> str:
    return "call_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def new_response_id() -> str:
    return "chatcmpl-" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def finish_reason(gemini: str, made_calls: bool) -> FinishReason:
    """Gemini ``finishReason`` -> OpenAI. Unknown values, MALFORMED_FUNCTION_CALL and the like -> stop."""
    if made_calls:
        return "tool_calls"
    if gemini == "MAX_TOKENS":
        return "length"
    if gemini in _FILTERED:
        return "content_filter"
    return "stop"


def map_usage(meta: wire.UsageMetadata) -> Usage:
    prompt = meta.prompt_token_count + meta.tool_use_prompt_token_count
    cached = min(meta.cached_content_token_count, prompt)
    output = meta.candidates_token_count
    legacy = meta.total_token_count > 0 and prompt + output == meta.total_token_count
    if not legacy:
        output += meta.thoughts_token_count
    return Usage(
        input_tokens=prompt - cached,
        cache_read_tokens=cached,
        output_tokens=output,
        reasoning_tokens=meta.thoughts_token_count,
    )


def map_logprobs(result: wire.LogprobsResult) -> tuple[TokenLogprob, ...]:
    out = []
    for n, chosen in enumerate(result.chosen_candidates):
        top = result.top_candidates[n].candidates if n < len(result.top_candidates) else []
        out.append(
            TokenLogprob(
                token=chosen.token,
                logprob=chosen.log_probability,
                top=tuple((c.token, c.log_probability) for c in top),
            )
        )
    return tuple(out)


def arguments_json(call: wire.FunctionCall) -> str:
    return msgspec.json.encode(call.args or {}).decode()


def decode_reply(body: bytes | str) -> wire.GenerateContentResponse:
    """Decode one reply or stream chunk; an ``{"error": ...}`` object is raised as its GatewayError."""
    try:
        reply = msgspec.json.decode(body, type=wire.GenerateContentResponse)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise UpstreamProtocolError(f"Gemini sent a reply the gateway could not read: {e}") from e
    if reply.error is not None:
        raise error_from_status(reply.error.code or 500, reply.error)
    return reply


def candidate_index(candidate: wire.Candidate, position: int) -> int:
    return candidate.index if candidate.index is not None else position


def parse_response(body: bytes, new_id: IdFactory = new_call_id) -> ChatResult:
    reply = decode_reply(body)
    choices = [_choice(candidate_index(c, n), c, new_id) for n, c in enumerate(reply.candidates)]
    if not choices:
        blocked = reply.prompt_feedback is not None and reply.prompt_feedback.block_reason is not None
        choices = [
            Choice(index=0, content=None if blocked else "", finish_reason="content_filter" if blocked else "stop")
        ]
    return ChatResult(
        id=reply.response_id or new_response_id(),
        choices=tuple(sorted(choices, key=lambda c: c.index)),
        usage=map_usage(reply.usage_metadata) if reply.usage_metadata else Usage(),
        upstream_model=reply.model_version,
    )


def _choice(index: int, candidate: wire.Candidate, new_id: IdFactory) -> Choice:
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    replay = ReplayBuilder()
    for part in candidate.content.parts if candidate.content else []:
        call_id = None
        if part.function_call is not None:
            call_id = part.function_call.id or new_id()
            calls.append(
                ToolCall(id=call_id, name=part.function_call.name, arguments=arguments_json(part.function_call))
            )
        elif part.text is not None:
            (thoughts if part.thought else text).append(part.text)
        replay.add_part(part, call_id)
    content = "".join(text)
    return Choice(
        index=index,
        content=content if content or not calls else None,
        finish_reason=finish_reason(candidate.finish_reason or "STOP", bool(calls)),
        reasoning="".join(thoughts) or None,
        tool_calls=tuple(calls),
        replay=replay.state(),
        logprobs=map_logprobs(candidate.logprobs_result) if candidate.logprobs_result else None,
    )
