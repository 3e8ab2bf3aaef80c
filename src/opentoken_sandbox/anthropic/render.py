"""Anthropic reply shapes shared by the JSON and the SSE renderings: content blocks, stop reason, usage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.anthropic.conversation import REDACTED_KIND, THINKING_KIND
from opentoken_sandbox.anthropic.errors import random_id
from opentoken_sandbox.anthropic.parse import MessagesCall
from opentoken_sandbox.prompt_cache import CacheUsage
from opentoken_sandbox.scenario import Completion, Finish
from opentoken_sandbox.signing import Signer

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
    completion: Completion
    cache: CacheUsage
    message_id: str
    tool_ids: tuple[str, ...]
    thinking_block: dict[str, Any] | None

    @property
    def input_tokens(self) -> int:
        return max(0, self.call.input_tokens - self.cache.read - self.cache.write)

    @property
    def stop_reason(self) -> str:
        return _STOP_REASONS[self.completion.finish]

    @property
    def stop_details(self) -> dict[str, Any] | None:
        if self.stop_reason == "refusal":
            return {"type": "refusal", "category": None, "explanation": None}
        return None


def build_reply(call: MessagesCall, completion: Completion, cache: CacheUsage, signer: Signer) -> Reply:
    thinking: dict[str, Any] | None = None
    if completion.thinking:
        text = completion.thinking_str
        if completion.redacted:
            thinking = {"type": "redacted_thinking", "data": signer.sign(REDACTED_KIND, b"", text.encode())}
        else:
            thinking = {"type": "thinking", "thinking": text, "signature": signer.sign(THINKING_KIND, text.encode())}
    tool_ids = tuple(random_id("toolu_01", 22) for _ in completion.calls)
    return Reply(call, completion, cache, random_id("msg_01", 22), tool_ids, thinking)


def tool_json(arguments: dict[str, Any]) -> str:
    """Tool input as the API streams it: JSON with a space after ``:`` and ``,``."""
    return json.dumps(arguments, ensure_ascii=False)


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking_block is not None:
        blocks.append(reply.thinking_block)
    if reply.completion.text:
        blocks.append({"type": "text", "text": reply.completion.text_str})
    for call, tool_id in zip(reply.completion.calls, reply.tool_ids, strict=True):
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_id,
                "name": call.name,
                "input": call.arguments,
                "caller": {"type": "direct"},
            }
        )
    return blocks


def _cache_fields(reply: Reply) -> dict[str, int]:
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": reply.cache.write,
        "cache_read_input_tokens": reply.cache.read,
    }


def _creation(reply: Reply) -> dict[str, int]:
    return {"ephemeral_5m_input_tokens": reply.cache.write_5m, "ephemeral_1h_input_tokens": reply.cache.write_1h}


def usage(reply: Reply, output_tokens: int | None = None) -> dict[str, Any]:
    """Full usage (JSON reply and ``message_start``; the latter passes a placeholder output count)."""
    out: dict[str, Any] = _cache_fields(reply)
    out["cache_creation"] = _creation(reply)
    out["output_tokens"] = reply.completion.output_tokens if output_tokens is None else output_tokens
    out["service_tier"] = "standard"
    out["inference_geo"] = "not_available"
    if output_tokens is None and reply.completion.thinking_tokens:
        out["output_tokens_details"] = {"thinking_tokens": reply.completion.thinking_tokens}
    return out


def delta_usage(reply: Reply) -> dict[str, Any]:
    """Cumulative usage of the final ``message_delta``."""
    out: dict[str, Any] = _cache_fields(reply)
    out["output_tokens"] = reply.completion.output_tokens
    if reply.completion.thinking_tokens:
        out["output_tokens_details"] = {"thinking_tokens": reply.completion.thinking_tokens}
    return out


def message_head(reply: Reply) -> dict[str, Any]:
    return {
        "model": reply.call.model,
        "id": reply.message_id,
        "type": "message",
        "role": "assistant",
    }


def message_body(reply: Reply) -> dict[str, Any]:
    body = message_head(reply)
    body["content"] = content_blocks(reply)
    body["stop_reason"] = reply.stop_reason
    body["stop_sequence"] = reply.completion.stop_sequence
    body["stop_details"] = reply.stop_details
    body["usage"] = usage(reply)
    return body
