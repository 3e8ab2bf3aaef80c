"""Fold a stream of canonical events into the ChatResult a non-stream reply would give."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import assert_never

from opentoken.core.chat import ReplayState
from opentoken.core.result import (
    Block,
    BlockDelta,
    BlockKind,
    BlockStart,
    BlockStop,
    Candidate,
    ChatResult,
    Finish,
    LogprobsDelta,
    NativeFrame,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    TextBlock,
    ThinkingBlock,
    TokenLogprob,
    ToolCallBlock,
    Usage,
    UsageUpdate,
)


@dataclass
class _BlockAcc:
    kind: BlockKind
    id: str = ""
    name: str = ""
    redacted: bool = False
    parts: list[str] = field(default_factory=list)

    def block(self) -> Block:
        text = "".join(self.parts)
        match self.kind:
            case "text":
                return TextBlock(text)
            case "thinking":
                return ThinkingBlock(text, redacted=self.redacted)
            case "tool_call":
                return ToolCallBlock(id=self.id, name=self.name, arguments=text if text.strip() else "{}")
            case _:
                assert_never(self.kind)


@dataclass
class _CandidateAcc:
    blocks: dict[int, _BlockAcc] = field(default_factory=dict)
    stop: Stop | None = None
    replay: ReplayState | None = None
    logprobs: list[TokenLogprob] | None = None


class Folder:
    """Accumulates events; ``result()`` gives the ChatResult seen so far (also for a cut-off stream)."""

    def __init__(self) -> None:
        self.id = ""
        self.upstream_model: str | None = None
        self.usage = Usage()
        self._candidates: dict[int, _CandidateAcc] = {}

    def _acc(self, candidate: int) -> _CandidateAcc:
        acc = self._candidates.get(candidate)
        if acc is None:
            acc = self._candidates[candidate] = _CandidateAcc()
        return acc

    def add(self, ev: StreamEvent) -> None:
        match ev:
            case StreamStart():
                self.id, self.upstream_model = ev.id, ev.upstream_model
            case BlockStart():
                self._acc(ev.candidate).blocks[ev.index] = _BlockAcc(ev.kind, ev.id, ev.name, ev.redacted)
            case BlockDelta():
                self._acc(ev.candidate).blocks[ev.index].parts.append(ev.text)
            case BlockStop() | NativeFrame():
                pass
            case LogprobsDelta():
                acc = self._acc(ev.candidate)
                acc.logprobs = [*(acc.logprobs or []), *ev.logprobs]
            case ReplayUpdate():
                self._acc(ev.candidate).replay = ev.replay
            case Finish():
                self._acc(ev.candidate).stop = ev.stop
            case UsageUpdate():
                self.usage = ev.usage
            case _:
                assert_never(ev)

    def result(self) -> ChatResult:
        candidates = []
        for index in sorted(self._candidates) or [0]:
            acc = self._candidates.get(index, _CandidateAcc())
            candidates.append(
                Candidate(
                    index=index,
                    blocks=tuple(b.block() for _, b in sorted(acc.blocks.items())),
                    stop=acc.stop or Stop("end_turn"),
                    replay=acc.replay,
                    logprobs=tuple(acc.logprobs) if acc.logprobs is not None else None,
                )
            )
        return ChatResult(
            id=self.id, candidates=tuple(candidates), usage=self.usage, upstream_model=self.upstream_model
        )


def fold_events(events: Iterable[StreamEvent]) -> ChatResult:
    folder = Folder()
    for ev in events:
        folder.add(ev)
    return folder.result()
