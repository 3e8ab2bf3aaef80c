"""The OpenAI Chat Completions request as typed msgspec structs (what clients send to the gateway).

Field names, types and ranges follow the official schema (``CreateChatCompletionRequest``). Fields the
gateway accepts but does not act on are typed loosely and reported back to the client as ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

PosInt = Annotated[int, Meta(ge=1)]
ToolName = Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class TextPart(Struct, tag_field="type", tag="text", forbid_unknown_fields=False):
    text: str


class ImageURL(Struct):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Struct, tag_field="type", tag="image_url"):
    image_url: ImageURL


class InputAudio(Struct):
    data: str
    format: Literal["wav", "mp3"]


class AudioPart(Struct, tag_field="type", tag="input_audio"):
    input_audio: InputAudio


class FileObject(Struct):
    filename: str | None = None
    file_data: str | None = None
    file_id: str | None = None


class FilePart(Struct, tag_field="type", tag="file"):
    file: FileObject


class RefusalPart(Struct, tag_field="type", tag="refusal"):
    refusal: str


UserPart = TextPart | ImagePart | AudioPart | FilePart


class FunctionCall(Struct):
    name: str
    arguments: str


class ToolCall(Struct):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class SystemMessage(Struct, tag_field="role", tag="system"):
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(Struct, tag_field="role", tag="developer"):
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(Struct, tag_field="role", tag="user"):
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(Struct, tag_field="role", tag="assistant"):
    content: str | list[TextPart | RefusalPart] | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: Any = None


class ToolMessage(Struct, tag_field="role", tag="tool"):
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(Struct, tag_field="role", tag="function"):
    name: str
    content: str | None = None


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage


class FunctionDefinition(Struct):
    name: ToolName
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(Struct, tag_field="type", tag="function"):
    function: FunctionDefinition


class CustomTool(Struct, tag_field="type", tag="custom"):
    custom: dict[str, Any]


class NamedFunction(Struct):
    name: str


class NamedToolChoice(Struct, tag_field="type", tag="function"):
    function: NamedFunction


class JSONSchemaFormat(Struct):
    name: ToolName
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class TextFormat(Struct, tag_field="type", tag="text"):
    pass


class JSONObjectFormat(Struct, tag_field="type", tag="json_object"):
    pass


class JSONSchemaResponseFormat(Struct, tag_field="type", tag="json_schema"):
    json_schema: JSONSchemaFormat


class StreamOptions(Struct):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class ChatCompletionRequest(Struct):
    model: str
    messages: Annotated[list[Message], Meta(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: PosInt | None = None
    max_completion_tokens: PosInt | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    stop: str | Annotated[list[str], Meta(min_length=0, max_length=4)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    seed: int | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    logit_bias: dict[str, Annotated[int, Meta(ge=-100, le=100)]] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    tools: list[FunctionTool | CustomTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: TextFormat | JSONObjectFormat | JSONSchemaResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    models: list[str] | None = None  # per-request fallback list (OpenRouter style)
    # accepted, not acted upon (reported as ignored when set)
    service_tier: str | None = None
    store: bool | None = None
    modalities: list[str] | None = None
    prediction: Any = None
    audio: Any = None
    web_search_options: Any = None
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    functions: Any = None
    function_call: Any = None


KNOWN_FIELDS = frozenset(ChatCompletionRequest.__struct_fields__)
IGNORED_FIELDS = (
    "service_tier",
    "store",
    "modalities",
    "prediction",
    "audio",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
    "metadata",
    "logit_bias",
    "functions",
    "function_call",
)


def decode_request(data: dict[str, Any]) -> ChatCompletionRequest:
    """Convert an already-parsed JSON object; raises msgspec.ValidationError with a ``$.path``."""
    return msgspec.convert(data, ChatCompletionRequest, strict=True)
