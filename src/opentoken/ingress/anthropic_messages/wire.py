"""Typed Messages API request structures (what clients send to ``POST /v1/messages``).

Only fields the gateway reads are typed; the body is kept as sent for pass-through, so nothing here limits
what reaches a provider that speaks this API. Content blocks are decoded one by one (``block``): a block
type this module does not know (server tool results, containers, search results, newer types) is kept as
``OtherBlock`` rather than rejected.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct

JSONObject = dict[str, Any]


class CacheControl(Struct):
    type: str = "ephemeral"
    ttl: str | None = None


class Base64Source(Struct, tag="base64", tag_field="type"):
    media_type: str
    data: str


class URLSource(Struct, tag="url", tag_field="type"):
    url: str


class TextSource(Struct, tag="text", tag_field="type"):
    data: str
    media_type: str = "text/plain"


class FileSource(Struct, tag="file", tag_field="type"):
    file_id: str


class ContentSource(Struct, tag="content", tag_field="type"):
    content: str | list[JSONObject]


class TextBlock(Struct, tag="text", tag_field="type"):
    text: str
    cache_control: CacheControl | None = None
    citations: list[JSONObject] | None = None


class ImageBlock(Struct, tag="image", tag_field="type"):
    source: Base64Source | URLSource | FileSource
    cache_control: CacheControl | None = None


class DocumentBlock(Struct, tag="document", tag_field="type"):
    source: Base64Source | URLSource | TextSource | ContentSource | FileSource
    title: str | None = None
    context: str | None = None
    citations: JSONObject | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: JSONObject
    cache_control: CacheControl | None = None


class ToolResultBlock(Struct, tag="tool_result", tag_field="type"):
    tool_use_id: str
    content: str | list[JSONObject] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(Struct, tag="thinking", tag_field="type"):
    thinking: str
    signature: str


class RedactedThinkingBlock(Struct, tag="redacted_thinking", tag_field="type"):
    data: str


class OtherBlock(Struct):
    """A block type the canonical request has no place for (kept on pass-through, dropped otherwise)."""

    type: str


KnownBlock = (
    TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock
)
Block = KnownBlock | OtherBlock
KNOWN_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"})


class MessageParam(Struct):
    role: Literal["user", "assistant", "system"]
    content: str | list[JSONObject]


class ToolParam(Struct):
    """A client tool (``type`` absent or ``custom``); server tools are kept as their raw objects."""

    name: str
    input_schema: JSONObject | None = None
    description: str | None = None
    type: str | None = None
    strict: bool | None = None
    cache_control: CacheControl | None = None
    defer_loading: bool | None = None


class ToolChoice(Struct):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Thinking(Struct):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None
    display: str | None = None


class OutputFormat(Struct):
    type: Literal["json_schema"]
    schema: JSONObject


class OutputConfig(Struct):
    effort: str | None = None  # low, medium, high, xhigh, max (newer values pass through to Claude)
    format: OutputFormat | None = None


class Metadata(Struct):
    user_id: str | None = None


class MessagesRequest(Struct):
    model: str
    messages: list[MessageParam]
    max_tokens: int | None = None  # required by /v1/messages (checked there), not by count_tokens
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[JSONObject] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    output_format: OutputFormat | None = None  # the structured-outputs beta's spelling of output_config.format
    metadata: Metadata | None = None


# Top-level fields the canonical request has no place for: passed through to Claude, dropped (and reported)
# for every other provider.
PASS_THROUGH_ONLY = (
    "context_management",
    "container",
    "mcp_servers",
    "service_tier",
    "inference_geo",
)
KNOWN_FIELDS = frozenset(MessagesRequest.__struct_fields__) | frozenset(PASS_THROUGH_ONLY)

request_decoder = msgspec.json.Decoder(MessagesRequest)


def block(raw: JSONObject) -> Block:
    """One content block; raises ``msgspec.ValidationError`` for a known type that is malformed."""
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise msgspec.ValidationError("Expected `str` - at `$.type`")
    if kind not in KNOWN_BLOCKS:
        return OtherBlock(type=kind)
    known: KnownBlock = msgspec.convert(raw, type=KnownBlock)
    return known
