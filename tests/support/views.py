"""A canonical result as an OpenAI chat client sees it, for tests whose expectations are written that way.

The view applies the OpenAI Chat Completions codec's own rules (``ingress.openai_chat.render``), so a test
that asserts ``view(result).choices[0].content`` checks the provider's blocks and the codec's rendering of
them together.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentoken.core.chat import ReplayState, ToolCall
from opentoken.core.result import Candidate, ChatResult, TokenLogprob
from opentoken.ingress.openai_chat.render import FINISH_REASONS, REASONING_SEPARATOR, content_of


@dataclass(frozen=True)
class ChoiceView:
    index: int
    content: str | None
    reasoning: str | None
    finish_reason: str
    tool_calls: tuple[ToolCall, ...]
    replay: ReplayState | None
    logprobs: tuple[TokenLogprob, ...] | None


@dataclass(frozen=True)
class ResultView:
    id: str
    choices: tuple[ChoiceView, ...]


def choice_view(c: Candidate) -> ChoiceView:
    reasoning = REASONING_SEPARATOR.join(b.text for b in c.thinking() if b.text)
    return ChoiceView(
        index=c.index,
        content=content_of(c),
        reasoning=reasoning or None,
        finish_reason=FINISH_REASONS[c.stop.reason],
        tool_calls=c.tool_calls,
        replay=c.replay,
        logprobs=c.logprobs,
    )


def view(result: ChatResult) -> ResultView:
    return ResultView(id=result.id, choices=tuple(choice_view(c) for c in result.candidates))
