"""Typed Gemini ``generateContent`` wire models (v1beta REST, lowerCamelCase keys).

Request structs omit unset fields (``omit_defaults``) so that only what the adapter decided to send goes on the
wire. Response structs accept and ignore unknown fields (safety ratings, citation and grounding metadata, ...).
JSON Schemas and function arguments stay plain JSON objects: they are data, not structure.
"""

from __future__ import annotations

from typing import Any

import msgspec

JSONObject = dict[str, Any]


class _Wire(msgspec.Struct, rename="camel", omit_defaults=True):
    """Base for every wire struct: camelCase on the wire, unset fields left out."""


# ---- content (shared by request and response) ----


class InlineData(_Wire):
    mime_type: str
    data: str  # base64


class FunctionCall(_Wire):
    name: str
    args: JSONObject | None = None
    id: str | None = None


class FunctionResponse(_Wire):
    name: str
    response: JSONObject
    id: str | None = None


class Part(_Wire):
    """Exactly one data field (text, inlineData, functionCall, functionResponse) plus optional metadata."""

    text: str | None = None
    inline_data: InlineData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None
    thought_signature: str | None = None


class Content(_Wire):
    role: str | None = None  # "user" | "model"
    parts: list[Part] = msgspec.field(default_factory=list)


# ---- request ----


class FunctionDeclaration(_Wire):
    name: str
    description: str | None = None
    parameters_json_schema: JSONObject | None = None


class Tool(_Wire):
    function_declarations: list[FunctionDeclaration]


class FunctionCallingConfig(_Wire):
    mode: str  # AUTO | ANY | NONE
    allowed_function_names: list[str] | None = None


class ToolConfig(_Wire):
    function_calling_config: FunctionCallingConfig


class ThinkingConfig(_Wire):
    include_thoughts: bool | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None


class GenerationConfig(_Wire):
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    stop_sequences: list[str] | None = None
    candidate_count: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_mime_type: str | None = None
    response_json_schema: JSONObject | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    thinking_config: ThinkingConfig | None = None


class GenerateContentRequest(_Wire):
    contents: list[Content]
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None


# ---- response ----


class LogprobsCandidate(_Wire):
    token: str = ""
    token_id: int | None = None
    log_probability: float = 0.0


class TopCandidates(_Wire):
    candidates: list[LogprobsCandidate] = msgspec.field(default_factory=list)


class LogprobsResult(_Wire):
    chosen_candidates: list[LogprobsCandidate] = msgspec.field(default_factory=list)
    top_candidates: list[TopCandidates] = msgspec.field(default_factory=list)


class Candidate(_Wire):
    content: Content | None = None
    finish_reason: str | None = None
    index: int | None = None
    logprobs_result: LogprobsResult | None = None
    finish_message: str | None = None


class PromptFeedback(_Wire):
    block_reason: str | None = None


class UsageMetadata(_Wire):
    prompt_token_count: int = 0
    cached_content_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    tool_use_prompt_token_count: int = 0
    total_token_count: int = 0


# ---- errors: {"error": {"code", "message", "status", "details"}} (google.rpc.Status) ----


class ErrorDetail(_Wire):
    """One ``details`` entry; only the fields the error map reads (ErrorInfo.reason, RetryInfo.retryDelay)."""

    type: str = msgspec.field(default="", name="@type")
    reason: str | None = None
    retry_delay: str | None = None


class ErrorStatus(_Wire):
    code: int | None = None
    message: str = ""
    status: str | None = None
    details: list[ErrorDetail] = msgspec.field(default_factory=list)


class ErrorBody(_Wire):
    error: ErrorStatus


class GenerateContentResponse(_Wire):
    """A reply, or one stream chunk. ``error`` is set for an in-stream error event."""

    candidates: list[Candidate] = msgspec.field(default_factory=list)
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    error: ErrorStatus | None = None


def encode(value: msgspec.Struct) -> bytes:
    return msgspec.json.encode(value)
