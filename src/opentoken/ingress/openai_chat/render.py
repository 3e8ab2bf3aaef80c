"""Canonical result -> OpenAI ``chat.completion`` (typed, msgspec), and the usage object streams share.

Per candidate (a ``choice``): ``content`` is the text blocks joined (``None`` when there is none and the reply
is tool calls or was filtered), ``reasoning_content`` the thinking blocks' text joined by a blank line,
``tool_calls`` the tool-call blocks in order (``arguments`` always a JSON object's text), ``finish_reason``
the stop reason in OpenAI's four values (``FINISH_REASONS``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import UNSET, Struct, UnsetType

from opentoken.core.money import Cost
from opentoken.core.result import Candidate, ChatResult, StopReason, TokenLogprob, Usage
from opentoken.ingress.openai.errors import ENCODER

REASONING_SEPARATOR = "\n\n"  # between the texts of two thinking blocks

FINISH_REASONS: dict[StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
}


class FunctionOut(Struct):
    name: str
    arguments: str


class ToolCallOut(Struct):
    id: str
    function: FunctionOut
    type: Literal["function"] = "function"


class TopLogprobOut(Struct):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprobOut(Struct):
    token: str
    logprob: float
    bytes: list[int] | None
    top_logprobs: list[TopLogprobOut]


class LogprobsOut(Struct):
    content: list[TokenLogprobOut] | None
    refusal: None = None


class MessageOut(Struct):
    content: str | None
    refusal: str | None = None
    role: Literal["assistant"] = "assistant"
    tool_calls: list[ToolCallOut] | UnsetType = UNSET
    reasoning_content: str | UnsetType = UNSET


class ChoiceOut(Struct):
    index: int
    message: MessageOut
    finish_reason: str
    logprobs: LogprobsOut | None = None


class PromptDetailsOut(Struct):
    cached_tokens: int
    cache_write_tokens: int
    audio_tokens: int = 0


class CompletionDetailsOut(Struct):
    reasoning_tokens: int
    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class CostDetailsOut(Struct):
    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal


class UsageOut(Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetailsOut
    completion_tokens_details: CompletionDetailsOut
    cost: Decimal | UnsetType = UNSET
    cost_details: CostDetailsOut | UnsetType = UNSET


class CompletionOut(Struct):
    id: str
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    object: Literal["chat.completion"] = "chat.completion"


def usage_out(usage: Usage, cost: Cost | None) -> UsageOut:
    out = UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptDetailsOut(
            cached_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens
        ),
        completion_tokens_details=CompletionDetailsOut(reasoning_tokens=usage.reasoning_tokens),
    )
    if cost is not None:
        out.cost = cost.total
        out.cost_details = CostDetailsOut(
            input=cost.input,
            cache_read=cost.cache_read,
            cache_write=cost.cache_write,
            output=cost.output,
            reasoning=cost.reasoning,
        )
    return out


def logprobs_out(items: tuple[TokenLogprob, ...] | None) -> LogprobsOut | None:
    if items is None:
        return None
    return LogprobsOut(
        content=[
            TokenLogprobOut(
                token=t.token,
                logprob=t.logprob,
                bytes=list(t.token.encode()),
                top_logprobs=[TopLogprobOut(token=tok, logprob=lp, bytes=list(tok.encode())) for tok, lp in t.top],
            )
            for t in items
        ]
    )


def content_of(candidate: Candidate) -> str | None:
    text = candidate.text
    if text or not (candidate.tool_calls or candidate.stop.reason == "content_filter"):
        return text
    return None


def _choice_out(ch: Candidate, with_reasoning: bool) -> ChoiceOut:
    msg = MessageOut(content=content_of(ch))
    calls = ch.tool_calls
    if calls:
        msg.tool_calls = [ToolCallOut(id=t.id, function=FunctionOut(t.name, t.arguments)) for t in calls]
    reasoning = REASONING_SEPARATOR.join(b.text for b in ch.thinking() if b.text)
    if with_reasoning and reasoning:
        msg.reasoning_content = reasoning
    return ChoiceOut(
        index=ch.index,
        message=msg,
        finish_reason=FINISH_REASONS[ch.stop.reason],
        logprobs=logprobs_out(ch.logprobs),
    )


def completion_json(
    result: ChatResult, *, id: str, created: int, model: str, cost: Cost | None, with_reasoning: bool = True
) -> bytes:
    out = CompletionOut(
        id=id,
        created=created,
        model=model,
        choices=[_choice_out(ch, with_reasoning) for ch in result.candidates],
        usage=usage_out(result.usage, cost),
    )
    return ENCODER.encode(out)
