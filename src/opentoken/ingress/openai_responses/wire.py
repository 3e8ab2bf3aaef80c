"""The OpenAI Responses request (``POST /v1/responses``) as typed msgspec structs.

Field names, types and ranges follow the official schema (``CreateResponse`` and the item and tool schemas it
reaches). Input items are converted one by one by their ``type`` (``message`` when absent, as
``EasyInputMessage`` allows), so an error names the item (``input[3].call_id``). Fields the gateway accepts
but does not act on are typed loosely and reported back as ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

JSONObject = dict[str, Any]
ToolName = Annotated[str, Meta(min_length=1, max_length=128)]

# ---- content parts ----


class InputText(Struct, tag_field="type", tag="input_text"):
    text: str


class OutputText(Struct, tag_field="type", tag="output_text"):
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class Refusal(Struct, tag_field="type", tag="refusal"):
    refusal: str


class InputImage(Struct, tag_field="type", tag="input_image"):
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high", "original"] | None = None


class InputFile(Struct, tag_field="type", tag="input_file"):
    file_data: str | None = None
    filename: str | None = None
    file_id: str | None = None
    file_url: str | None = None


ContentPart = InputText | OutputText | Refusal | InputImage | InputFile

# ---- input items ----


class MessageItem(Struct):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None
    phase: Any = None
    type: Literal["message"] = "message"


class FunctionCallItem(Struct):
    call_id: Annotated[str, Meta(min_length=1)]
    name: ToolName
    arguments: str
    id: str | None = None
    namespace: str | None = None
    status: str | None = None
    type: Literal["function_call"] = "function_call"


class FunctionCallOutputItem(Struct):
    call_id: Annotated[str, Meta(min_length=1, max_length=64)]
    output: str | list[ContentPart]
    id: str | None = None
    status: str | None = None
    type: Literal["function_call_output"] = "function_call_output"


class CustomToolCallItem(Struct):
    call_id: Annotated[str, Meta(min_length=1)]
    name: ToolName
    input: str
    id: str | None = None
    namespace: str | None = None
    type: Literal["custom_tool_call"] = "custom_tool_call"


class CustomToolCallOutputItem(Struct):
    call_id: Annotated[str, Meta(min_length=1)]
    output: str | list[ContentPart]
    id: str | None = None
    type: Literal["custom_tool_call_output"] = "custom_tool_call_output"


class SummaryText(Struct):
    text: str
    type: Literal["summary_text"] = "summary_text"


class ReasoningItem(Struct):
    summary: list[SummaryText] = msgspec.field(default_factory=list)
    id: str | None = None
    encrypted_content: str | None = None
    content: list[Any] | None = None
    status: str | None = None
    type: Literal["reasoning"] = "reasoning"


class WebSearchCallItem(Struct):
    """A built-in web search the model ran (sent back as history: nothing to replay upstream)."""

    id: str | None = None
    status: str | None = None
    action: Any = None
    type: Literal["web_search_call"] = "web_search_call"


class ItemReference(Struct):
    id: str
    type: Literal["item_reference"] | None = "item_reference"


InputItem = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | CustomToolCallItem
    | CustomToolCallOutputItem
    | ReasoningItem
    | WebSearchCallItem
    | ItemReference
)
ITEM_TYPES: dict[str, type[Struct]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
    "custom_tool_call": CustomToolCallItem,
    "custom_tool_call_output": CustomToolCallOutputItem,
    "reasoning": ReasoningItem,
    "web_search_call": WebSearchCallItem,
    "item_reference": ItemReference,
}

# ---- tools ----


class FunctionTool(Struct, tag_field="type", tag="function"):
    name: ToolName
    parameters: JSONObject | None = None
    strict: bool | None = None
    description: str | None = None
    defer_loading: bool | None = None


class CustomFormat(Struct):
    type: Literal["text", "grammar"] = "text"
    syntax: str | None = None
    definition: str | None = None


class CustomTool(Struct, tag_field="type", tag="custom"):
    name: ToolName
    description: str | None = None
    format: CustomFormat | None = None
    defer_loading: bool | None = None


class NamespaceTool(Struct, tag_field="type", tag="namespace"):
    name: Annotated[str, Meta(min_length=1)]
    tools: Annotated[list[FunctionTool | CustomTool], Meta(min_length=1)]
    description: str | None = None


class WebSearchTool(Struct):
    type: Literal["web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"]
    external_web_access: bool | None = None
    filters: Any = None
    user_location: Any = None
    search_context_size: str | None = None
    search_content_types: Any = None


WEB_SEARCH_TYPES = frozenset(
    {"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"}
)

# ---- tool choice, text, reasoning ----


class NamedChoice(Struct):
    type: Literal["function", "custom"]
    name: str


class AllowedTools(Struct):
    mode: Literal["auto", "required"]
    tools: list[JSONObject]
    type: Literal["allowed_tools"] = "allowed_tools"


class TextFormat(Struct):
    type: Literal["text", "json_object", "json_schema"]
    name: Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")] | None = None
    schema: JSONObject | None = None
    strict: bool | None = None
    description: str | None = None


class TextParam(Struct):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class ReasoningParam(Struct):
    effort: Effort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None
    mode: Any = None
    context: Any = None


# ---- the request ----


class CreateResponse(Struct):
    model: str
    input: str | list[JSONObject] | None = None
    instructions: str | None = None
    stream: bool | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[str] | None = None
    tools: list[JSONObject] | None = None
    tool_choice: str | JSONObject | None = None
    parallel_tool_calls: bool | None = None
    text: TextParam | None = None
    reasoning: ReasoningParam | None = None
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    metadata: dict[str, Annotated[str, Meta(max_length=512)]] | None = None
    user: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    # accepted; refused when set to something the gateway cannot do (see parse)
    background: bool | None = None
    conversation: Any = None
    prompt: Any = None
    truncation: Literal["auto", "disabled"] | None = None
    # accepted, not acted on (reported as ignored when set)
    service_tier: str | None = None
    stream_options: Any = None
    max_tool_calls: int | None = None
    prompt_cache_retention: Any = None
    prompt_cache_options: Any = None
    context_management: Any = None
    moderation: Any = None
    client_metadata: Any = None


KNOWN_FIELDS = frozenset(CreateResponse.__struct_fields__)
IGNORED_FIELDS = (
    "service_tier",
    "stream_options",
    "max_tool_calls",
    "prompt_cache_retention",
    "prompt_cache_options",
    "context_management",
    "moderation",
    "client_metadata",
    "safety_identifier",
)


def decode_request(data: JSONObject) -> CreateResponse:
    """Convert an already-parsed JSON object; raises msgspec.ValidationError with a ``$.path``."""
    return msgspec.convert(data, CreateResponse, strict=True)


def decode_item(data: Any) -> InputItem:
    """One input item by its ``type`` (``message`` when it has a ``role`` and no type)."""
    if not isinstance(data, dict):
        raise msgspec.ValidationError("Expected an object")
    kind = data.get("type")
    if kind is None:
        kind = "message" if "role" in data else "item_reference" if "id" in data else None
    cls = ITEM_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise msgspec.ValidationError(f"Unsupported input item type {kind!r} - at `$.type`")
    item = msgspec.convert(data, cls, strict=True)
    assert isinstance(item, InputItem)
    return item


def decode_tool(data: Any) -> FunctionTool | CustomTool | NamespaceTool | WebSearchTool:
    if not isinstance(data, dict):
        raise msgspec.ValidationError("Expected an object")
    kind = data.get("type")
    if kind in WEB_SEARCH_TYPES:
        return msgspec.convert(data, WebSearchTool, strict=True)
    tool: FunctionTool | CustomTool | NamespaceTool = msgspec.convert(
        data, FunctionTool | CustomTool | NamespaceTool, strict=True
    )
    return tool
