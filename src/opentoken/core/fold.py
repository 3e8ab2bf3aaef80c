"""Fold a stream of canonical events into the ChatResult a non-stream reply would give."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from opentoken.core.chat import ReplayState, ToolCall
from opentoken.core.result import (
    ChatResult,
    Choice,
    Finish,
    FinishReason,
    LogprobsDelta,
    ReasoningDelta,
    ReplayUpdate,
    StreamEvent,
    StreamStart,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    ToolCallStart,
    Usage,
    UsageUpdate,
)


@dataclass
class _ChoiceAcc:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, list[str]] = field(default_factory=dict)  # index -> [id, name, args...]
    finish: FinishReason | None = None
    replay: ReplayState | None = None
    logprobs: list[TokenLogprob] | None = None


class Folder:
    """Accumulates events; ``result()`` gives the ChatResult seen so far (also for a cut-off stream)."""

    def __init__(self) -> None:
        self.id = ""
        self.upstream_model: str | None = None
        self.usage = Usage()
        self._choices: dict[int, _ChoiceAcc] = {}

    def _acc(self, choice: int) -> _ChoiceAcc:
        acc = self._choices.get(choice)
        if acc is None:
            acc = self._choices[choice] = _ChoiceAcc()
        return acc

    def add(self, ev: StreamEvent) -> None:
        match ev:
            case StreamStart():
                self.id, self.upstream_model = ev.id, ev.upstream_model
            case TextDelta():
                self._acc(ev.choice).text.append(ev.text)
            case ReasoningDelta():
                self._acc(ev.choice).reasoning.append(ev.text)
            case ToolCallStart():
                self._acc(ev.choice).calls[ev.index] = [ev.id, ev.name]
            case ToolCallDelta():
                self._acc(ev.choice).calls[ev.index].append(ev.arguments)
            case LogprobsDelta():
                acc = self._acc(ev.choice)
                acc.logprobs = [*(acc.logprobs or []), *ev.logprobs]
            case ReplayUpdate():
                self._acc(ev.choice).replay = ev.replay
            case Finish():
                self._acc(ev.choice).finish = ev.reason
            case UsageUpdate():
                self.usage = ev.usage

    def result(self) -> ChatResult:
        choices = []
        for index in sorted(self._choices) or [0]:
            acc = self._choices.get(index, _ChoiceAcc())
            calls = tuple(
                ToolCall(id=c[0], name=c[1], arguments="".join(c[2:]) or "{}") for _, c in sorted(acc.calls.items())
            )
            text = "".join(acc.text)
            choices.append(
                Choice(
                    index=index,
                    content=text if text or not (calls or acc.finish == "content_filter") else None,
                    finish_reason=acc.finish or "stop",
                    reasoning="".join(acc.reasoning) or None,
                    tool_calls=calls,
                    replay=acc.replay,
                    logprobs=tuple(acc.logprobs) if acc.logprobs is not None else None,
                )
            )
        return ChatResult(id=self.id, choices=tuple(choices), usage=self.usage, upstream_model=self.upstream_model)


def fold_events(events: Iterable[StreamEvent]) -> ChatResult:
    folder = Folder()
    for ev in events:
        folder.add(ev)
    return folder.result()
