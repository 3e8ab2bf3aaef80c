"""Canonical results: usage, a complete chat result as ordered content blocks, and the stream event union.

A reply is one or more *candidates* (independent replies to one request; almost always one). Each candidate
is an ordered list of content blocks as the provider produced them (thinking, text, tool calls, in their
order), a ``Stop`` with the normalised reason next to the provider's raw one, and the provider state the
next turn needs (``ReplayState``: thinking signatures, thought signatures; opaque, one document per turn,
because providers attach it to different parts of a turn). Nothing here is shaped for one wire API: each
ingress renders blocks in its own shape and mints its own ids.

Streams are block events: ``BlockStart`` (the block's kind, and a tool call's id and name), ``BlockDelta``
(text, thinking text or a JSON fragment of a tool call's arguments), ``BlockStop``; then ``Finish`` per
candidate and ``UsageUpdate`` (cumulative). Block ``index`` counts the candidate's blocks from 0 in the
order they start (never a provider's own index). Streaming and non-streaming give the same result:
``opentoken.core.fold.fold_events`` folds a stream into the ``ChatResult`` the non-stream parser returns.

A pass-through call (``core.chat.NativeRequest``) also carries the provider's reply as it came: each upstream
stream event as a ``NativeFrame`` ahead of the canonical events decoded from it, a whole reply as
``ChatResult.native``. Only the ingress that asked for the pass-through reads them; the canonical events are
there as for any call (metering, replay, the fold).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, assert_never

from opentoken.core.chat import ReplayState, ToolCall

# Why generation stopped, normalised over providers (``Stop.raw`` keeps the provider's own value):
# end_turn: the model finished; stop_sequence: a stop sequence matched (``Stop.sequence``, when the provider
# says which); max_tokens: the output limit (or the context window) was reached; tool_use: the model called
# tools; content_filter: a safety system blocked the prompt or the reply; refusal: the model declined;
# pause_turn: a long-running server-side turn paused (the client may continue it).
StopReason = Literal["end_turn", "stop_sequence", "max_tokens", "tool_use", "content_filter", "refusal", "pause_turn"]


@dataclass(frozen=True, slots=True)
class Stop:
    reason: StopReason
    raw: str | None = None  # the provider's own value ("end_turn", "MAX_TOKENS", ...)
    sequence: str | None = None  # the stop sequence that matched, when known


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts by kind. ``input_tokens`` excludes cache reads and writes; ``output_tokens`` includes
    ``reasoning_tokens``. The whole prompt is the sum of the three input kinds. ``cache_write_1h_tokens`` is
    the part of ``cache_write_tokens`` written for an hour (priced apart; the rest is a 5-minute write)."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

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


# ---- content blocks ----


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """The model's reasoning. ``redacted``: the provider encrypted it (no text; its state is in the replay)."""

    text: str
    redacted: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallBlock:
    id: str
    name: str
    arguments: str  # JSON text of an object ("{}" when the tool takes none)


Block = TextBlock | ThinkingBlock | ToolCallBlock
BlockKind = Literal["text", "thinking", "tool_call"]


@dataclass(frozen=True, slots=True)
class Candidate:
    index: int
    blocks: tuple[Block, ...]
    stop: Stop
    replay: ReplayState | None = None  # provider state to keep for the next turn (thinking, signatures)
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))

    def thinking(self) -> Iterator[ThinkingBlock]:
        return (b for b in self.blocks if isinstance(b, ThinkingBlock))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=b.id, name=b.name, arguments=b.arguments) for b in self.blocks if isinstance(b, ToolCallBlock)
        )


@dataclass(frozen=True, slots=True)
class ChatResult:
    id: str  # the provider's own id for the reply ("" when it gives none); ingresses mint their own
    candidates: tuple[Candidate, ...]
    usage: Usage
    upstream_model: str | None = None
    native: bytes | None = None  # the provider's reply body as it came, on a pass-through call


# ---- stream events (one upstream event maps to zero or more of these) ----


@dataclass(frozen=True, slots=True)
class StreamStart:
    id: str  # the provider's id for the reply, "" when it gives none
    upstream_model: str | None = None


@dataclass(frozen=True, slots=True)
class BlockStart:
    """A block begins. ``kind`` says which; a tool call comes with its ``id`` and ``name``."""

    index: int
    kind: BlockKind
    id: str = ""
    name: str = ""
    redacted: bool = False  # thinking the provider encrypted
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class BlockDelta:
    """More of the block: text, thinking text, or a fragment of a tool call's JSON arguments."""

    index: int
    text: str
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class BlockStop:
    index: int
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class LogprobsDelta:
    logprobs: tuple[TokenLogprob, ...]
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class ReplayUpdate:
    """Provider state to keep for the candidate (replaces any earlier update for it)."""

    replay: ReplayState
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    stop: Stop
    candidate: int = 0


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    """Cumulative usage so far; the last one wins."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class NativeFrame:
    """One upstream stream event exactly as it came (pass-through calls only; see the module docstring)."""

    data: str
    event: str | None = None


StreamEvent = (
    StreamStart
    | BlockStart
    | BlockDelta
    | BlockStop
    | LogprobsDelta
    | ReplayUpdate
    | Finish
    | UsageUpdate
    | NativeFrame
)


def is_content(ev: StreamEvent) -> bool:
    """Whether a client would see something of ``ev``: text or thinking text, a tool call, logprobs or the end.

    The first such event ends the part of a stream that may still be retried unseen (``routing.stream``).
    """
    match ev:
        case BlockDelta():
            return bool(ev.text)
        case BlockStart():
            return ev.kind == "tool_call"
        case LogprobsDelta() | Finish():
            return True
        case StreamStart() | BlockStop() | ReplayUpdate() | UsageUpdate() | NativeFrame():
            return False
        case _:
            assert_never(ev)
