"""Canonical results: usage, a complete chat result, and the stream event union.

Streaming and non-streaming produce the same result: ``opentoken.core.fold.fold_events`` folds a stream of
events into the ``ChatResult`` that the non-stream parser returns for the same reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opentoken.core.chat import ReplayState, ToolCall

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts by kind. ``input_tokens`` excludes cache reads and writes; ``output_tokens`` includes
    ``reasoning_tokens``. OpenAI's ``prompt_tokens`` is the sum of the three input kinds."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    content: str | None
    finish_reason: FinishReason
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    replay: ReplayState | None = None  # provider state to keep for the next turn (thinking, signatures)
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    id: str
    choices: tuple[Choice, ...]
    usage: Usage
    upstream_model: str | None = None


# ---- stream events (one upstream event maps to zero or more of these) ----


@dataclass(frozen=True, slots=True)
class StreamStart:
    id: str
    upstream_model: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    choice: int = 0


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str
    choice: int = 0


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """A new tool call. ``index`` counts tool calls from 0 within the choice (never a provider block index)."""

    index: int
    id: str
    name: str
    choice: int = 0


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    arguments: str
    choice: int = 0


@dataclass(frozen=True, slots=True)
class LogprobsDelta:
    logprobs: tuple[TokenLogprob, ...]
    choice: int = 0


@dataclass(frozen=True, slots=True)
class ReplayUpdate:
    """Provider state to keep for the choice (replaces any earlier update for it)."""

    replay: ReplayState
    choice: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason
    choice: int = 0


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    """Cumulative usage so far; the last one wins."""

    usage: Usage


StreamEvent = (
    StreamStart
    | TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallDelta
    | LogprobsDelta
    | ReplayUpdate
    | Finish
    | UsageUpdate
)
