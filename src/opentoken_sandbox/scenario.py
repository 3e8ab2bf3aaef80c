"""The simulated model: a deterministic reply planned from the prompt, then cut to the request's limits.

Provider-neutral. Each provider parses its request into a ``Prompt``, calls ``plan_reply`` and
``complete``, and renders the ``Completion`` in its own wire format.

Prompt markers (in the last user text): ``[[max_tokens]]``, ``[[refusal]]``, ``[[safety]]``,
``[[blocked]]``, ``[[stop:XYZ]]``, ``[[json]]``, ``[[redacted_thinking]]``, ``[[call:NAME {json}]]`` (call
the tool NAME with exactly these arguments, and no other tool) (``[[fault:...]]`` is read by ``faults``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from opentoken_sandbox.schema_values import value_for
from opentoken_sandbox.tokens import count_text, pieces

_MARKERS = re.compile(r"\[\[[^\]]*\]\]")
_STOP = re.compile(r"\[\[stop:([^\]]+)\]\]")
_CALL = re.compile(r"\[\[call:([\w.:-]+) (\{[^\]]*\})\]\]")
_ASK = re.compile(r"\b(call|use)\b")
_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_PARALLEL_N = re.compile(r"\b(\d+|" + "|".join(_NUMBERS) + r")\s+(?:parallel|simultaneous|concurrent)")
_PARALLEL = re.compile(r"\b(parallel|simultaneous(?:ly)?|concurrent(?:ly)?)\b")
_MAX_CALLS = 16
REFUSAL_TEXT = "I can't help with that request."
REDACTED_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING"


class Finish(enum.Enum):
    END = "end"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    REFUSAL = "refusal"
    SAFETY = "safety"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolChoice:
    """mode: auto | any | none; names restricts the callable tools; single forbids parallel calls."""

    mode: str = "auto"
    names: tuple[str, ...] = ()
    single: bool = False


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    content: str
    error: bool = False


@dataclass(frozen=True)
class Prompt:
    text: str
    tool_results: tuple[ToolOutcome, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    choice: ToolChoice = ToolChoice()
    thinking: bool = False
    output_schema: Mapping[str, Any] | None = None
    json_mode: bool = False
    lead_text: bool = True


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]

    @property
    def tokens(self) -> int:
        return max(1, count_text(self.name + orjson.dumps(self.arguments).decode()))


@dataclass(frozen=True)
class Reply:
    thinking: str
    text: str
    calls: tuple[ToolCall, ...]
    special: Finish | None = None
    redacted: bool = False


@dataclass(frozen=True)
class Completion:
    thinking: tuple[str, ...]
    text: tuple[str, ...]
    calls: tuple[ToolCall, ...]
    finish: Finish
    stop_sequence: str | None = None
    redacted: bool = False

    @property
    def thinking_tokens(self) -> int:
        return len(self.thinking)

    @property
    def call_tokens(self) -> int:
        return sum(call.tokens for call in self.calls)

    @property
    def text_tokens(self) -> int:
        return len(self.text)

    @property
    def output_tokens(self) -> int:
        return self.thinking_tokens + self.text_tokens + self.call_tokens

    @property
    def text_str(self) -> str:
        return "".join(self.text)

    @property
    def thinking_str(self) -> str:
        return "".join(self.thinking)


def clean(text: str) -> str:
    return " ".join(_MARKERS.sub(" ", text).split())


def _quote(text: str, limit: int) -> str:
    cleaned = clean(text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3].rstrip() + "..."


def plan_reply(prompt: Prompt) -> Reply:
    text = prompt.text
    special = _special(text)
    calls = () if special in (Finish.BLOCKED, Finish.SAFETY, Finish.REFUSAL) else _plan_calls(prompt)
    thinking = _thinking(prompt, calls) if prompt.thinking else ""
    redacted = prompt.thinking and ("[[redacted_thinking]]" in text or REDACTED_TRIGGER in text)
    if special is Finish.REFUSAL:
        body = REFUSAL_TEXT
    elif special in (Finish.BLOCKED, Finish.SAFETY):
        body = ""
    elif calls:
        names = ", ".join(dict.fromkeys(c.name for c in calls))
        body = f"I'll use {names} to help with that." if prompt.lead_text and not prompt.thinking else ""
    else:
        body = _answer(prompt)
    return Reply(thinking=thinking, text=body, calls=calls, special=special, redacted=redacted)


def _special(text: str) -> Finish | None:
    for marker, finish in (
        ("[[blocked]]", Finish.BLOCKED),
        ("[[safety]]", Finish.SAFETY),
        ("[[refusal]]", Finish.REFUSAL),
        ("[[max_tokens]]", Finish.MAX_TOKENS),
    ):
        if marker in text:
            return finish
    return None


def _answer(prompt: Prompt) -> str:
    if prompt.output_schema is not None:
        return orjson.dumps(value_for(prompt.output_schema)).decode()
    if prompt.tool_results:
        quoted = " ".join(
            f"The {r.name} tool {'failed with' if r.error else 'returned'}: {_quote(r.content, 1000)}."
            for r in prompt.tool_results
        )
        return f"{quoted} That is what the tools reported."
    stop = _STOP.search(prompt.text)
    if stop:
        return f"Sandbox reply before the stop sequence {stop.group(1)} and after it, which should be cut off."
    quote = _quote(prompt.text, 160)
    echo = (
        f'Sandbox reply: you said "{quote}". This deterministic answer comes from the OpenToken sandbox '
        "so that clients can test streaming, usage accounting and tool calls end to end."
        if quote
        else "Sandbox reply to an empty message. This deterministic answer comes from the OpenToken sandbox."
    )
    if prompt.json_mode or "[[json]]" in prompt.text:
        return orjson.dumps({"reply": echo}).decode()
    return echo


def _thinking(prompt: Prompt, calls: tuple[ToolCall, ...]) -> str:
    if calls:
        plan = "call " + ", ".join(dict.fromkeys(c.name for c in calls))
    elif prompt.tool_results:
        plan = "answer from the tool results"
    else:
        plan = "answer directly"
    quote = _quote(prompt.text, 80) or "(tool results only)"
    return f'The user wrote "{quote}". I should {plan}, keeping the reply short and clear.'


def _plan_calls(prompt: Prompt) -> tuple[ToolCall, ...]:
    choice = prompt.choice
    if not prompt.tools or choice.mode == "none":
        return ()
    allowed = [t for t in prompt.tools if not choice.names or t.name in choice.names]
    if not allowed:
        return ()
    forced = _CALL.search(prompt.text)
    if forced and not prompt.tool_results and any(t.name == forced.group(1) for t in allowed):
        try:
            args = orjson.loads(forced.group(2))
        except orjson.JSONDecodeError:
            args = {}
        return (ToolCall(forced.group(1), args if isinstance(args, dict) else {}),)
    lowered = prompt.text.lower()
    mentioned = _mentioned(allowed, lowered)
    if choice.mode == "auto" and (prompt.tool_results or not (mentioned or _ASK.search(lowered))):
        return ()
    parallel = _parallel_count(lowered)
    candidates = mentioned or (allowed if parallel else allowed[:1])
    count = parallel if parallel else len(candidates)
    if parallel and count < len(candidates):
        count = len(candidates)
    if choice.single:
        count = 1
    count = min(count, _MAX_CALLS)
    calls = []
    for i in range(count):
        tool = candidates[i % len(candidates)]
        args = value_for(tool.schema, variant=i // len(candidates) + i % len(candidates))
        calls.append(ToolCall(tool.name, args if isinstance(args, dict) else {}))
    return tuple(calls)


def _mentioned(tools: list[ToolSpec], lowered: str) -> list[ToolSpec]:
    """Tools named in the text as whole names (``tool_4`` is not mentioned by ``tool_42``), in text order."""
    hits = []
    for i, tool in enumerate(tools):
        match = re.search(r"(?<![\w-])" + re.escape(tool.name.lower()) + r"(?![\w-])", lowered)
        if match:
            hits.append((match.start(), i))
    return [tools[i] for _, i in sorted(hits)]


def _parallel_count(lowered: str) -> int:
    match = _PARALLEL_N.search(lowered)
    if match:
        word = match.group(1)
        return max(1, int(word) if word.isdigit() else _NUMBERS[word])
    return 2 if _PARALLEL.search(lowered) else 0


def complete(
    reply: Reply,
    max_tokens: int | None,
    stop_sequences: tuple[str, ...] = (),
    thinking_exhausts: bool = False,
) -> Completion:
    """Apply markers, stop sequences and the output-token limit (which counts thinking too).

    ``thinking_exhausts``: under ``[[max_tokens]]`` the thinking uses up the whole budget (Gemini's
    MAX_TOKENS reply without parts).
    """
    thinking = pieces(reply.thinking)
    redacted = reply.redacted
    if reply.special is Finish.MAX_TOKENS:
        if thinking_exhausts and thinking:
            kept = thinking[:max_tokens] if max_tokens is not None else thinking
            return Completion(tuple(kept), (), (), Finish.MAX_TOKENS, redacted=redacted)
        text = pieces(reply.text)
        text = text[: max(1, len(text) // 2)]
        if max_tokens is not None:
            thinking = thinking[:max_tokens]
            text = text[: max_tokens - len(thinking)]
        return Completion(tuple(thinking), tuple(text), (), Finish.MAX_TOKENS, redacted=redacted)
    text_str, finish, matched = reply.text, _finish_of(reply), None
    for seq in stop_sequences:
        at = text_str.find(seq) if seq else -1
        if at >= 0:  # the text only shrinks, so a later match is always the earlier position
            text_str, matched, finish = text_str[:at], seq, Finish.STOP_SEQUENCE
    text = pieces(text_str)
    calls = () if matched else reply.calls
    if max_tokens is not None:
        used = len(thinking) + len(text)
        if used > max_tokens or (calls and used + sum(c.tokens for c in calls) > max_tokens):
            thinking = thinking[:max_tokens]
            text = text[: max_tokens - len(thinking)]
            return Completion(tuple(thinking), tuple(text), (), Finish.MAX_TOKENS, redacted=redacted)
    if not matched and calls:
        finish = Finish.TOOL_USE
    return Completion(tuple(thinking), tuple(text), calls, finish, matched, redacted)


def _finish_of(reply: Reply) -> Finish:
    if reply.special in (Finish.REFUSAL, Finish.SAFETY, Finish.BLOCKED):
        return reply.special
    return Finish.END
