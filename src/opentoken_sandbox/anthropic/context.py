"""Context management (beta ``context-management-2025-06-27``): the edits the API applies before the model
reads the prompt, and what it reports about them.

- ``clear_thinking_20251015``: thinking blocks of all but the last ``keep`` assistant turns that have them are
  removed (``keep`` defaults to one turn; ``"all"`` or ``{"type": "all"}`` keeps every turn);
- ``clear_tool_uses_20250919``: once the prompt reaches ``trigger`` (default 100,000 input tokens, or a number
  of tool uses), the results of all but the last ``keep`` tool uses (default 3) are replaced by a placeholder,
  oldest first, skipping ``exclude_tools``; ``clear_tool_inputs`` also empties their inputs; nothing is
  cleared when less than ``clear_at_least`` tokens would be;
- ``compact_20260112`` is accepted and not simulated.

The reply reports ``context_management: {"applied_edits": [...]}`` (only edits that cleared something);
``count_tokens`` reports the tokens after the edits and ``context_management.original_input_tokens``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.anthropic.conversation import blocks_of

PLACEHOLDER = "[Tool result cleared by context management]"
_THINKING = ("thinking", "redacted_thinking")
Counter = Callable[[dict[str, Any]], int]


@dataclass(frozen=True)
class Edited:
    messages: list[dict[str, Any]]
    applied: tuple[dict[str, Any], ...]


def _keep_count(keep: Any, default: int) -> int | None:
    """How many to keep; None keeps everything."""
    if keep is None:
        return default
    if keep == "all" or (isinstance(keep, dict) and keep.get("type") == "all"):
        return None
    return int(keep["value"])


def apply_edits(body: dict[str, Any], total: int, count: Counter) -> Edited:
    """The messages after the requested edits (the request's own list when nothing was cleared); ``total`` is
    the prompt's token count before them."""
    messages: list[dict[str, Any]] = body["messages"]
    applied: list[dict[str, Any]] = []
    for edit in (body.get("context_management") or {}).get("edits", []):
        trial = copy.deepcopy(messages)
        if edit["type"] == "clear_thinking_20251015":
            outcome = _clear_thinking(trial, edit, count)
        elif edit["type"] == "clear_tool_uses_20250919":
            outcome = _clear_tool_uses(trial, edit, count, total)
        else:
            continue
        if outcome is not None:
            messages = trial
            applied.append(outcome)
            total -= outcome["cleared_input_tokens"]
    return Edited(messages, tuple(applied))


def _normalised(message: dict[str, Any]) -> None:
    if isinstance(message.get("content"), str):
        message["content"] = blocks_of(message)


def _clear_thinking(messages: list[dict[str, Any]], edit: dict[str, Any], count: Counter) -> dict[str, Any] | None:
    keep = _keep_count(edit.get("keep"), 1)
    if keep is None:
        return None
    turns = [m for m in messages if m["role"] == "assistant" and any(b.get("type") in _THINKING for b in blocks_of(m))]
    cleared = turns[: max(0, len(turns) - keep)]
    tokens = 0
    for message in cleared:
        _normalised(message)
        kept = [b for b in message["content"] if b.get("type") not in _THINKING]
        tokens += sum(count(b) for b in message["content"] if b.get("type") in _THINKING)
        message["content"] = kept
    if not cleared:
        return None
    return {"type": "clear_thinking_20251015", "cleared_thinking_turns": len(cleared), "cleared_input_tokens": tokens}


def _tool_uses(messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(tool_use block, its tool_result block) in conversation order."""
    results: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message["role"] == "user":
            for block in blocks_of(message):
                if block.get("type") == "tool_result":
                    results[block["tool_use_id"]] = block
    pairs = []
    for message in messages:
        if message["role"] == "assistant":
            for block in blocks_of(message):
                if block.get("type") == "tool_use":
                    pairs.append((block, results.get(block["id"])))
    return pairs


def _triggered(edit: dict[str, Any], total: int, uses: int) -> bool:
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": 100_000}
    measured = uses if trigger.get("type") == "tool_uses" else total
    return measured >= int(trigger["value"])


def _clear_tool_uses(
    messages: list[dict[str, Any]], edit: dict[str, Any], count: Counter, total: int
) -> dict[str, Any] | None:
    for message in messages:
        _normalised(message)
    pairs = _tool_uses(messages)
    if not _triggered(edit, total, len(pairs)):
        return None
    keep = _keep_count(edit.get("keep"), 3)
    excluded = set(edit.get("exclude_tools") or ())
    inputs = edit.get("clear_tool_inputs") or False
    candidates = [(use, result) for use, result in pairs[: max(0, len(pairs) - (keep or 0))] if keep is not None]
    candidates = [(use, result) for use, result in candidates if use["name"] not in excluded and result is not None]
    tokens = 0
    for use, result in candidates:
        assert result is not None
        before = count(result) + count(use)
        result["content"] = PLACEHOLDER
        result.pop("is_error", None)
        if inputs is True or (isinstance(inputs, list) and use["name"] in inputs):
            use["input"] = {}
        tokens += before - count(result) - count(use)
    least = edit.get("clear_at_least")
    if not candidates or (least is not None and tokens < int(least["value"])):
        return None
    return {"type": "clear_tool_uses_20250919", "cleared_tool_uses": len(candidates), "cleared_input_tokens": tokens}
