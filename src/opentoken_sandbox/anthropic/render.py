"""Anthropic replies as ordered content blocks, shared by the JSON and the SSE renderings.

``build_reply`` turns a ``Completion`` (plus a web search turn or document citations when the request calls
for them) into ``Reply.blocks``; ``message_body`` renders the whole message; ``events`` streams the same blocks.
Output tokens are the sum over the blocks, so both renderings report the same usage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.anthropic.blocks import (
    Block,
    Redacted,
    SearchResults,
    ServerToolUse,
    Text,
    Thinking,
    ToolUse,
    block_json,
    output_tokens,
)
from opentoken_sandbox.anthropic.conversation import REDACTED_KIND, THINKING_KIND
from opentoken_sandbox.anthropic.documents import citation
from opentoken_sandbox.anthropic.errors import random_id
from opentoken_sandbox.anthropic.parse import MessagesCall
from opentoken_sandbox.anthropic.search import SearchTurn
from opentoken_sandbox.prompt_cache import CacheUsage
from opentoken_sandbox.scenario import Completion, Finish
from opentoken_sandbox.signing import Signer
from opentoken_sandbox.tokens import pieces

_STOP_REASONS = {
    Finish.END: "end_turn",
    Finish.MAX_TOKENS: "max_tokens",
    Finish.STOP_SEQUENCE: "stop_sequence",
    Finish.TOOL_USE: "tool_use",
    Finish.REFUSAL: "refusal",
    Finish.SAFETY: "refusal",
    Finish.BLOCKED: "refusal",
}


@dataclass(frozen=True)
class Reply:
    """Everything both renderings need; ids are drawn once per response."""

    call: MessagesCall
    blocks: tuple[Block, ...]
    cache: CacheUsage
    message_id: str
    stop_reason: str
    stop_sequence: str | None
    searches: int = 0

    @property
    def input_tokens(self) -> int:
        return max(0, self.call.input_tokens - self.cache.read - self.cache.write)

    @property
    def output_tokens(self) -> int:
        return output_tokens(self.blocks)

    @property
    def thinking_tokens(self) -> int:
        return sum(b.tokens for b in self.blocks if isinstance(b, Thinking | Redacted))

    @property
    def stop_details(self) -> dict[str, Any] | None:
        if self.stop_reason == "refusal":
            return {"type": "refusal", "category": None, "explanation": None}
        return None


def _thinking(call: MessagesCall, completion: Completion, signer: Signer) -> list[Block]:
    if not completion.thinking:
        return []
    text = completion.thinking_str
    tokens = completion.thinking_tokens
    if completion.redacted:
        return [Redacted(signer.sign(REDACTED_KIND, b"", text.encode()), tokens)]
    if call.display == "omitted":  # what the client will send back is the empty text, so that is what is signed
        return [Thinking((), signer.sign(THINKING_KIND, b"", text.encode()), tokens)]
    return [Thinking(completion.thinking, signer.sign(THINKING_KIND, text.encode()), tokens)]


def _answer(completion: Completion) -> list[Block]:
    blocks: list[Block] = []
    if completion.text:
        blocks.append(Text(completion.text))
    blocks.extend(ToolUse(random_id("toolu_01", 22), call.name, call.arguments) for call in completion.calls)
    return blocks


def _cited(call: MessagesCall) -> list[Block]:
    if not call.documents:
        return []
    found = [citation(block, i) for i, block in enumerate(call.documents)]
    first = found[0]
    where = first.get("document_title") or "the document"
    return [Text(tuple(pieces(f'According to {where}: "{first["cited_text"]}" ')), tuple(found))]


def _searched(turn: SearchTurn) -> tuple[list[Block], bool]:
    """The web search part of a reply; True when the turn pauses after the search results."""
    blocks: list[Block] = []
    if turn.query is not None:
        tool_id = random_id("srvtoolu_01", 22)
        blocks.append(Text(tuple(pieces("I'll search the web for that."))))
        blocks.append(ServerToolUse(tool_id, "web_search", {"query": turn.query}))
        blocks.append(SearchResults(tool_id, turn.results))
        if turn.paused:
            return blocks, True
    sentence = f"According to {turn.citation['title']}, here is what I found. "
    blocks.append(Text(tuple(pieces(sentence)), (turn.citation,)))
    return blocks, False


def build_reply(
    call: MessagesCall, completion: Completion, cache: CacheUsage, signer: Signer, search: SearchTurn | None
) -> Reply:
    blocks = _thinking(call, completion, signer)
    stop_reason = _STOP_REASONS[completion.finish]
    searches = 0
    if search is not None and completion.finish in (Finish.END, Finish.TOOL_USE):
        found, paused = _searched(search)
        blocks.extend(found)
        searches = int(search.query is not None)
        if paused:
            return Reply(call, tuple(blocks), cache, random_id("msg_01", 22), "pause_turn", None, searches)
        completion = Completion(completion.thinking, completion.text, (), Finish.END, redacted=completion.redacted)
        stop_reason = "end_turn"
    elif completion.finish is Finish.END:
        blocks.extend(_cited(call))
    blocks.extend(_answer(completion))
    return Reply(call, tuple(blocks), cache, random_id("msg_01", 22), stop_reason, completion.stop_sequence, searches)


def tool_json(arguments: dict[str, Any]) -> str:
    """Tool input as the API streams it: JSON with a space after ``:`` and ``,``."""
    return json.dumps(arguments, ensure_ascii=False)


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [block_json(block) for block in reply.blocks]


def _cache_fields(reply: Reply) -> dict[str, int]:
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": reply.cache.write,
        "cache_read_input_tokens": reply.cache.read,
    }


def _creation(reply: Reply) -> dict[str, int]:
    return {"ephemeral_5m_input_tokens": reply.cache.write_5m, "ephemeral_1h_input_tokens": reply.cache.write_1h}


def _details(reply: Reply, out: dict[str, Any]) -> None:
    if reply.searches:
        out["server_tool_use"] = {"web_search_requests": reply.searches, "web_fetch_requests": 0}
    if reply.thinking_tokens:
        out["output_tokens_details"] = {"thinking_tokens": reply.thinking_tokens}


def usage(reply: Reply, output_tokens: int | None = None) -> dict[str, Any]:
    """Full usage (JSON reply and ``message_start``; the latter passes a placeholder output count)."""
    out: dict[str, Any] = _cache_fields(reply)
    out["cache_creation"] = _creation(reply)
    out["output_tokens"] = reply.output_tokens if output_tokens is None else output_tokens
    out["service_tier"] = "standard"
    out["inference_geo"] = "not_available"
    if output_tokens is None:
        _details(reply, out)
    return out


def delta_usage(reply: Reply) -> dict[str, Any]:
    """Cumulative usage of the final ``message_delta``."""
    out: dict[str, Any] = _cache_fields(reply)
    out["output_tokens"] = reply.output_tokens
    _details(reply, out)
    return out


def context_management(reply: Reply) -> dict[str, Any] | None:
    if not reply.call.context_management:
        return None
    return {"applied_edits": list(reply.call.applied_edits)}


def message_head(reply: Reply) -> dict[str, Any]:
    return {"model": reply.call.model.snapshot, "id": reply.message_id, "type": "message", "role": "assistant"}


def message_body(reply: Reply) -> dict[str, Any]:
    body = message_head(reply)
    body["content"] = content_blocks(reply)
    body["stop_reason"] = reply.stop_reason
    body["stop_sequence"] = reply.stop_sequence
    body["stop_details"] = reply.stop_details
    managed = context_management(reply)
    if managed is not None:
        body["context_management"] = managed
    body["usage"] = usage(reply)
    return body
