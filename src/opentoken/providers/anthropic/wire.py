"""Typed models of the Anthropic Messages API wire format (``POST /v1/messages``).

Only what the gateway sends or reads is modelled. Unknown fields in replies are ignored by msgspec; unknown
content-block or delta types fail decoding, and the callers turn that into ``UpstreamProtocolError`` naming
the type, so nothing is dropped silently. Tool inputs are kept as raw JSON (``msgspec.Raw``) so arguments pass
through byte for byte.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# ---- content blocks (shared by requests, replies and stream starts) ----


class Base64Source(msgspec.Struct, tag="base64", tag_field="type"):
    media_type: str
    data: str


class URLSource(msgspec.Struct, tag="url", tag_field="type"):
    url: str


class PlainTextSource(msgspec.Struct, tag="text", tag_field="type"):
    data: str
    media_type: str = "text/plain"


class TextBlock(msgspec.Struct, tag="text", tag_field="type"):
    text: str


class ImageBlock(msgspec.Struct, tag="image", tag_field="type"):
    source: Base64Source | URLSource


class DocumentBlock(msgspec.Struct, tag="document", tag_field="type", omit_defaults=True):
    source: Base64Source | PlainTextSource
    title: str | None = None


class ToolUseBlock(msgspec.Struct, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: msgspec.Raw


class ToolResultBlock(msgspec.Struct, tag="tool_result", tag_field="type", omit_defaults=True):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] | None = None
    is_error: bool | None = None


class ThinkingBlock(msgspec.Struct, tag="thinking", tag_field="type"):
    thinking: str
    signature: str


class RedactedThinkingBlock(msgspec.Struct, tag="redacted_thinking", tag_field="type"):
    data: str


InputBlock = (
    TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock
)
OutputBlock = TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock
ReplayBlock = ThinkingBlock | RedactedThinkingBlock

# ---- request ----


class MessageParam(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: list[InputBlock]


class ToolParam(msgspec.Struct, omit_defaults=True):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None


class ToolChoiceAuto(msgspec.Struct, tag="auto", tag_field="type", omit_defaults=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(msgspec.Struct, tag="any", tag_field="type", omit_defaults=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(msgspec.Struct, tag="tool", tag_field="type", omit_defaults=True):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(msgspec.Struct, tag="none", tag_field="type"):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class ThinkingEnabled(msgspec.Struct, tag="enabled", tag_field="type"):
    budget_tokens: int


class ThinkingAdaptive(msgspec.Struct, tag="adaptive", tag_field="type"):
    pass


class ThinkingDisabled(msgspec.Struct, tag="disabled", tag_field="type"):
    pass


ThinkingConfig = ThinkingEnabled | ThinkingAdaptive | ThinkingDisabled


class JSONSchemaFormat(msgspec.Struct, tag="json_schema", tag_field="type"):
    schema: dict[str, Any]


class OutputConfig(msgspec.Struct, omit_defaults=True):
    effort: str | None = None
    format: JSONSchemaFormat | None = None


class Metadata(msgspec.Struct):
    user_id: str


class MessagesRequest(msgspec.Struct, omit_defaults=True):
    model: str
    max_tokens: int
    messages: list[MessageParam]
    stream: bool
    system: str | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    thinking: ThinkingConfig | None = None
    output_config: OutputConfig | None = None
    metadata: Metadata | None = None


# ---- reply ----


class OutputTokensDetails(msgspec.Struct):
    thinking_tokens: int | None = None


class CacheCreation(msgspec.Struct):
    """Cache writes by lifetime (``cache_control.ttl``); their sum is ``cache_creation_input_tokens``."""

    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None


class Usage(msgspec.Struct):
    """Token counts. In ``message_delta`` every field may be absent; later non-null values override."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens_details: OutputTokensDetails | None = None
    cache_creation: CacheCreation | None = None


class Message(msgspec.Struct):
    id: str
    model: str
    content: list[OutputBlock]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)


class ErrorDetail(msgspec.Struct):
    type: str
    message: str = ""


class ErrorBody(msgspec.Struct):
    """``{"type": "error", "error": {"type", "message"}, "request_id"?}``."""

    error: ErrorDetail
    request_id: str | None = None


# ---- stream events ----


class TextDelta(msgspec.Struct, tag="text_delta", tag_field="type"):
    text: str


class InputJSONDelta(msgspec.Struct, tag="input_json_delta", tag_field="type"):
    partial_json: str


class ThinkingDelta(msgspec.Struct, tag="thinking_delta", tag_field="type"):
    thinking: str


class SignatureDelta(msgspec.Struct, tag="signature_delta", tag_field="type"):
    signature: str


class CitationsDelta(msgspec.Struct, tag="citations_delta", tag_field="type"):
    citation: msgspec.Raw


Delta = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta


class MessageStart(msgspec.Struct, tag="message_start", tag_field="type"):
    message: Message


class ContentBlockStart(msgspec.Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: OutputBlock


class ContentBlockDelta(msgspec.Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: Delta


class ContentBlockStop(msgspec.Struct, tag="content_block_stop", tag_field="type"):
    index: int


class MessageDeltaBody(msgspec.Struct):
    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDelta(msgspec.Struct, tag="message_delta", tag_field="type"):
    delta: MessageDeltaBody
    usage: Usage | None = None


class MessageStop(msgspec.Struct, tag="message_stop", tag_field="type"):
    pass


class Ping(msgspec.Struct, tag="ping", tag_field="type"):
    pass


class ErrorEvent(msgspec.Struct, tag="error", tag_field="type"):
    error: ErrorDetail


StreamEvent = (
    MessageStart
    | ContentBlockStart
    | ContentBlockDelta
    | ContentBlockStop
    | MessageDelta
    | MessageStop
    | Ping
    | ErrorEvent
)
STREAM_EVENT_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


class EventType(msgspec.Struct):
    """Just the ``type`` of an event, read to tell an unknown (ignored) event from a malformed one."""

    type: str = ""


# ---- codecs (msgspec decoders are reusable and thread-safe) ----

message_decoder = msgspec.json.Decoder(Message)
error_decoder = msgspec.json.Decoder(ErrorBody)
event_decoder = msgspec.json.Decoder(StreamEvent)
event_type_decoder = msgspec.json.Decoder(EventType)
replay_decoder = msgspec.json.Decoder(list[ReplayBlock])
encoder = msgspec.json.Encoder()


def format_input(raw: msgspec.Raw | bytes) -> str:
    """Tool input as the arguments string: one line, ``", "`` and ``": "`` separators.

    That is the layout Anthropic itself streams ``input_json_delta`` fragments in, so a streamed and a
    non-streamed reply give the same ``arguments`` text.
    """
    return msgspec.json.format(bytes(raw), indent=0).decode()
