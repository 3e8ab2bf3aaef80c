"""Gemini request rules after parsing: contents, turn order, tools, generation and thinking config."""

from __future__ import annotations

import re
from typing import Any

from opentoken_sandbox.gemini.errors import GeminiError, field_error, invalid
from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.payload import get
from opentoken_sandbox.signing import decode_b64

_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
_FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$")
_MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")
_LEVELS = ("THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH")
_CALL_ORDER = (
    "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
)
_RESPONSE_COUNT = (
    "Please ensure that the number of function response parts is equal to the number of function call parts "
    "of the function call turn."
)


def parts_of(content: Any) -> list[dict[str, Any]]:
    parts = get(content, "parts")
    return parts if isinstance(parts, list) else []


def role_of(content: Any) -> str:
    role = get(content, "role")
    return "user" if role is None else role


def count_parts(content: Any, field: str) -> int:
    return sum(1 for part in parts_of(content) if get(part, field) is not None)


def check_contents(body: dict[str, Any]) -> list[dict[str, Any]]:
    contents = get(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise field_error("contents", "contents is not specified")
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise invalid(f"Invalid JSON payload received. Expected an object at 'contents[{i}]'.")
        if role_of(content) not in ("user", "model"):
            raise invalid("Please use a valid role: user, model.")
        parts = get(content, "parts")
        if not isinstance(parts, list) or not parts:
            raise field_error(f"contents[{i}].parts", "contents.parts must not be empty.")
        for j, part in enumerate(parts):
            check_part(part, f"contents[{i}].parts[{j}]")
    _check_turns(contents)
    system = get(body, "systemInstruction")
    if system is not None:
        for j, part in enumerate(parts_of(system)):
            check_part(part, f"system_instruction.parts[{j}]")
    return contents


def check_part(part: Any, where: str, request: str = "GenerateContentRequest") -> None:
    if not isinstance(part, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object at '{where}'.")
    present = [name for name in _DATA_FIELDS if get(part, name) is not None]
    if not present:
        raise field_error(f"{where}.data", "required oneof field 'data' must have one initialized field", request)
    if len(present) > 1:
        raise field_error(f"{where}.data", f"oneof field 'data' is already set. Cannot set '{present[1]}'", request)
    call = get(part, "functionCall")
    if call is not None and (not isinstance(get(call, "name"), str) or not get(call, "name")):
        raise field_error(f"{where}.function_call.name", "Name cannot be empty.", request)
    if call is not None and get(call, "args") is not None and not isinstance(get(call, "args"), dict):
        raise invalid(f"Invalid JSON payload received. Expected an object at '{where}.function_call.args'.")
    response = get(part, "functionResponse")
    if response is not None:
        if not isinstance(get(response, "name"), str) or not get(response, "name"):
            raise field_error(f"{where}.function_response.name", "Name cannot be empty.", request)
        if get(response, "response") is not None and not isinstance(get(response, "response"), dict):
            raise invalid(f"Invalid JSON payload received. Expected an object at '{where}.function_response.response'.")
    blob = get(part, "inlineData")
    if blob is not None:
        data = get(blob, "data")
        if not isinstance(data, str) or decode_b64(data) is None:
            raise _bytes_error(f"{where}.inline_data.data", data)
        if not isinstance(get(blob, "mimeType"), str):
            raise field_error(f"{where}.inline_data.mime_type", "MIME type cannot be empty.", request)
    signature = get(part, "thoughtSignature")
    if signature is not None and (not isinstance(signature, str) or decode_b64(signature) is None):
        raise _bytes_error(f"{where}.thought_signature", signature)


def _bytes_error(where: str, value: Any) -> GeminiError:
    shown = value if isinstance(value, str) and len(value) < 64 else "..."
    return invalid(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"")


def _check_turns(contents: list[dict[str, Any]]) -> None:
    for i, content in enumerate(contents):
        calls = count_parts(content, "functionCall")
        if role_of(content) == "model" and calls and (i == 0 or role_of(contents[i - 1]) != "user"):
            raise invalid(_CALL_ORDER)
        responses = count_parts(content, "functionResponse")
        if not responses:
            continue
        previous = contents[i - 1] if i > 0 else None
        if previous is None or role_of(previous) != "model" or not count_parts(previous, "functionCall"):
            raise invalid("Please ensure that function response turn comes immediately after a function call turn.")
        if responses != count_parts(previous, "functionCall"):
            raise invalid(_RESPONSE_COUNT)


def declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in get(body, "tools") or []:
        out.extend(d for d in get(tool, "functionDeclarations") or [] if isinstance(d, dict))
    return out


def check_tools(body: dict[str, Any]) -> None:
    tools = get(body, "tools")
    if tools is not None and not isinstance(tools, list):
        raise invalid("Invalid JSON payload received. Expected a list at 'tools'.")
    for k, declaration in enumerate(declarations(body)):
        where = f"tools.function_declarations[{k}]"
        name = get(declaration, "name")
        if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
            raise field_error(
                f"{where}.name",
                "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
                "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 128.",
            )
        if get(declaration, "parameters") is not None and get(declaration, "parametersJsonSchema") is not None:
            raise field_error(where, "`parameters` and `parameters_json_schema` cannot both be set.")
    calling = get(get(body, "toolConfig"), "functionCallingConfig")
    if calling is None:
        return
    mode = get(calling, "mode") or "AUTO"
    if mode not in _MODES:
        raise invalid(
            "Invalid value at 'tool_config.function_calling_config.mode' "
            f'(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "{mode}"'
        )
    if mode in ("ANY", "VALIDATED") and not declarations(body):
        raise field_error(
            "tool_config.function_calling_config.mode",
            "function_calling_config.mode is only supported when function declarations are provided.",
        )
    if get(calling, "allowedFunctionNames") and mode not in ("ANY", "VALIDATED"):
        raise field_error(
            "tool_config.function_calling_config.allowed_function_names",
            "allowed_function_names is only allowed when function_calling_config.mode is ANY.",
        )


def check_generation(body: dict[str, Any], model: GeminiModel) -> None:
    config = get(body, "generationConfig") or {}
    count = get(config, "candidateCount")
    if count is not None and (not isinstance(count, int) or not 1 <= count <= 8):
        raise field_error("generation_config.candidate_count", "candidate_count must be between 1 and 8.")
    limit = get(config, "maxOutputTokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise field_error("generation_config.max_output_tokens", "max_output_tokens must be positive.")
    stops = get(config, "stopSequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 5):
        raise field_error("generation_config.stop_sequences", "stop_sequences must have at most 5 elements.")
    for name, proto, high in (("temperature", "temperature", 2), ("topP", "top_p", 1)):
        value = get(config, name)
        if value is not None and (not isinstance(value, int | float) or not 0 <= value <= high):
            raise field_error(f"generation_config.{proto}", f"{proto} must be between 0 and {high}.")
    top = get(config, "logprobs")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= 20):
        raise field_error("generation_config.logprobs", "logprobs must be between 0 and 20.")
    if top is not None and not get(config, "responseLogprobs"):
        raise invalid("logprobs is only allowed when response_logprobs is set to true.")
    schema, json_schema = get(config, "responseSchema"), get(config, "responseJsonSchema")
    if schema is not None and json_schema is not None:
        raise invalid("response_schema and response_json_schema cannot both be set.")
    mime = get(config, "responseMimeType")
    if (schema is not None or json_schema is not None) and mime not in ("application/json", "text/x.enum"):
        raise invalid(
            "When using response_schema or response_json_schema, response_mime_type must be set to "
            "application/json or text/x.enum."
        )
    _check_thinking(get(config, "thinkingConfig"), model)


def _check_thinking(config: Any, model: GeminiModel) -> None:
    if config is None:
        return
    budget, level = get(config, "thinkingBudget"), get(config, "thinkingLevel")
    if budget is not None and level is not None:
        raise invalid("You can only set only one of thinking budget and thinking level.")
    if not model.can_think and (level is not None or budget not in (None, 0) or get(config, "includeThoughts")):
        raise invalid("Thinking is not supported for this model.")
    if level is not None:
        if not isinstance(level, str) or level.upper() not in _LEVELS:
            raise invalid(
                "Invalid value at 'generation_config.thinking_config.thinking_level' "
                f'(type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), "{level}"'
            )
        if not model.gen3:
            raise invalid("Thinking level is not supported for this model.")
        if model.pro and level.upper() == "MEDIUM":
            raise invalid(
                "Thinking level MEDIUM is not supported for this model. Please retry with other thinking level."
            )
    if budget is not None:
        if not isinstance(budget, int) or budget < -1:
            raise invalid("The thinking budget must be an integer of at least -1.")
        if model.version == (3, 0):
            raise invalid("Thinking budget is not supported for this model. Please use thinking level instead.")
        if model.pro and budget == 0:
            raise invalid("Budget 0 is invalid. This model only works in thinking mode.")
