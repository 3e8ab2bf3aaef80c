"""The OpenAI response objects the gateway sends: chat.completion, usage, errors (typed, msgspec)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType

from opentoken.core.money import Cost
from opentoken.core.result import ChatResult, Choice, TokenLogprob, Usage

ENCODER = msgspec.json.Encoder(decimal_format="number")


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


class ErrorBody(Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(Struct):
    error: ErrorBody


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


def _choice_out(ch: Choice, with_reasoning: bool) -> ChoiceOut:
    msg = MessageOut(content=ch.content, refusal=ch.refusal)
    if ch.tool_calls:
        msg.tool_calls = [ToolCallOut(id=t.id, function=FunctionOut(t.name, t.arguments)) for t in ch.tool_calls]
    if with_reasoning and ch.reasoning:
        msg.reasoning_content = ch.reasoning
    return ChoiceOut(index=ch.index, message=msg, finish_reason=ch.finish_reason, logprobs=logprobs_out(ch.logprobs))


def completion_json(
    result: ChatResult, *, id: str, created: int, model: str, cost: Cost | None, with_reasoning: bool = True
) -> bytes:
    out = CompletionOut(
        id=id,
        created=created,
        model=model,
        choices=[_choice_out(ch, with_reasoning) for ch in result.choices],
        usage=usage_out(result.usage, cost),
    )
    return ENCODER.encode(out)


def error_json(message: str, type: str, param: str | None, code: str | None) -> bytes:
    return ENCODER.encode(ErrorOut(ErrorBody(message=message, type=type, param=param, code=code)))
