"""Gemini ``GenerateContentResponse`` -> canonical ChatResult; the tables shared with the stream decoder.

- Each candidate becomes a ``Candidate`` (``candidate.index``, else its position). Its parts become blocks in
  order: adjacent ``thought: true`` text parts one ``ThinkingBlock``, adjacent answer text parts one
  ``TextBlock``, each ``functionCall`` a ``ToolCallBlock`` whose id is Gemini's ``functionCall.id`` when
  present, otherwise ``call_`` + 24 random letters and digits, and whose arguments are the JSON text of
  ``args``. Empty text parts (Gemini sends them to carry a signature) make no block.
- Stop reasons follow ``stop_of``; a candidate that made tool calls always stops with ``tool_use``.
- A prompt blocked before generation (``promptFeedback.blockReason``, no candidates) is one candidate with no
  blocks that stopped with ``content_filter``.
- Signatures and Gemini call ids go to ``Candidate.replay`` (see ``replay``).
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

from opentoken.core.errors import UpstreamProtocolError
from opentoken.core.result import (
    Block,
    Candidate,
    ChatResult,
    Stop,
    TextBlock,
    ThinkingBlock,
    TokenLogprob,
    ToolCallBlock,
    Usage,
)
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


def stop_of(gemini: str | None, made_calls: bool) -> Stop:
    """Gemini ``finishReason`` -> canonical. MALFORMED_FUNCTION_CALL, unknown values and the like read as an
    end of turn (the raw value is kept)."""
    if made_calls:
        return Stop("tool_use", raw=gemini)
    if gemini == "MAX_TOKENS":
        return Stop("max_tokens", raw=gemini)
    if gemini in _FILTERED:
        return Stop("content_filter", raw=gemini)
    return Stop("end_turn", raw=gemini)


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
    candidates = [_candidate(candidate_index(c, n), c, new_id) for n, c in enumerate(reply.candidates)]
    if not candidates:
        feedback = reply.prompt_feedback
        blocked = feedback.block_reason if feedback is not None else None
        stop = Stop("content_filter", raw=blocked) if blocked is not None else Stop("end_turn")
        candidates = [Candidate(index=0, blocks=(), stop=stop)]
    return ChatResult(
        id=reply.response_id or "",
        candidates=tuple(sorted(candidates, key=lambda c: c.index)),
        usage=map_usage(reply.usage_metadata) if reply.usage_metadata else Usage(),
        upstream_model=reply.model_version,
    )


def _candidate(index: int, candidate: wire.Candidate, new_id: IdFactory) -> Candidate:
    blocks: list[Block] = []
    replay = ReplayBuilder()
    made_calls = False
    for part in candidate.content.parts if candidate.content else []:
        call_id = None
        if part.function_call is not None:
            call_id = part.function_call.id or new_id()
            made_calls = True
            blocks.append(
                ToolCallBlock(id=call_id, name=part.function_call.name, arguments=arguments_json(part.function_call))
            )
        elif part.text:
            _add_text(blocks, part.text, bool(part.thought))
        replay.add_part(part, call_id)
    return Candidate(
        index=index,
        blocks=tuple(blocks),
        stop=stop_of(candidate.finish_reason or "STOP", made_calls),
        replay=replay.state(),
        logprobs=map_logprobs(candidate.logprobs_result) if candidate.logprobs_result else None,
    )


def _add_text(blocks: list[Block], text: str, thought: bool) -> None:
    """Append a text part: to the last block when it is of the same kind, else as a new block."""
    last = blocks[-1] if blocks else None
    if thought and isinstance(last, ThinkingBlock):
        blocks[-1] = ThinkingBlock(last.text + text)
    elif not thought and isinstance(last, TextBlock):
        blocks[-1] = TextBlock(last.text + text)
    else:
        blocks.append(ThinkingBlock(text) if thought else TextBlock(text))
