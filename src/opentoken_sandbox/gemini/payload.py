"""The proto parsing stage of a Gemini request: unknown field names and schema keywords.

Google's JSON parser accepts each field in lowerCamelCase or snake_case and rejects anything else with
``Invalid JSON payload received. Unknown name "x" at '<path>': Cannot find field.``; all problems of a
request are reported together. Paths use the proto (snake_case) names.
"""

from __future__ import annotations

import json
from typing import Any

from opentoken_sandbox.gemini.errors import payload_errors
from opentoken_sandbox.gemini.schema import check_schema, snake, spellings, unknown

Problems = list[tuple[str, str]]

_TOP = spellings(
    [
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "safetySettings",
        "generationConfig",
        "cachedContent",
        "labels",
    ]
)
_CONTENT = spellings(["role", "parts"])
_PART = spellings(
    [
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
        "codeExecutionResult", "thought", "thoughtSignature", "videoMetadata", "mediaResolution", "partMetadata",
    ]
)  # fmt: skip
_NESTED = {
    "inlineData": spellings(["mimeType", "data"]),
    "fileData": spellings(["mimeType", "fileUri"]),
    "functionCall": spellings(["id", "name", "args"]),
    "functionResponse": spellings(["id", "name", "response", "parts", "willContinue", "scheduling"]),
}
_TOOL = spellings(
    [
        "functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext",
        "fileSearch", "googleMaps", "computerUse",
    ]
)  # fmt: skip
_DECLARATION = spellings(
    ["name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"]
)
_TOOL_CONFIG = spellings(["functionCallingConfig", "retrievalConfig"])
_CALLING = spellings(["mode", "allowedFunctionNames"])
_GENERATION = spellings(
    [
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
        "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
        "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
        "thinkingConfig", "imageConfig", "mediaResolution",
    ]
)  # fmt: skip
_THINKING = spellings(["includeThoughts", "thinkingBudget", "thinkingLevel"])
_COUNT = spellings(["contents", "generateContentRequest"])
_EMBED = spellings(["model", "content", "taskType", "title", "outputDimensionality"])
_BATCH = spellings(["requests"])
_SAFETY = spellings(["category", "threshold", "method"])


def get(obj: Any, name: str) -> Any:
    """A field in either spelling (camelCase first)."""
    if not isinstance(obj, dict):
        return None
    return obj[name] if name in obj else obj.get(snake(name))


def _names(obj: Any, allowed: frozenset[str], where: str) -> Problems:
    if not isinstance(obj, dict):
        return []
    return [unknown(key, where) for key in obj if key not in allowed]


def _repeated(obj: Any, field: str, where: str) -> Problems:
    """A repeated field given a single value."""
    value = get(obj, field)
    if value is None or isinstance(value, list):
        return []
    at = f"{where}.{snake(field)}" if where else snake(field)
    return [(at, f"Invalid value at '{at}' (repeated field), {json.dumps(value)}")]


def check_payload(body: dict[str, Any]) -> None:
    problems = _names(body, _TOP, "")
    for field in ("contents", "tools", "safetySettings"):
        problems += _repeated(body, field, "")
    contents = get(body, "contents")
    for i, content in enumerate(contents if isinstance(contents, list) else []):
        problems += _content(content, f"contents[{i}]")
    system = get(body, "systemInstruction")
    if system is not None:
        problems += _content(system, "system_instruction")
    tools = get(body, "tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        problems += _tool(tool, f"tools[{i}]")
    tool_config = get(body, "toolConfig")
    problems += _names(tool_config, _TOOL_CONFIG, "tool_config")
    calling = get(tool_config, "functionCallingConfig")
    problems += _names(calling, _CALLING, "tool_config.function_calling_config")
    problems += _repeated(calling, "allowedFunctionNames", "tool_config.function_calling_config")
    settings = get(body, "safetySettings")
    for i, setting in enumerate(settings if isinstance(settings, list) else []):
        problems += _names(setting, _SAFETY, f"safety_settings[{i}]")
    problems += _generation(get(body, "generationConfig"))
    if problems:
        raise payload_errors(problems)


def _content(content: Any, where: str) -> Problems:
    problems = _names(content, _CONTENT, where) + _repeated(content, "parts", where)
    parts = get(content, "parts")
    for j, part in enumerate(parts if isinstance(parts, list) else []):
        at = f"{where}.parts[{j}]"
        problems += _names(part, _PART, at)
        for field, allowed in _NESTED.items():
            problems += _names(get(part, field), allowed, f"{at}.{snake(field)}")
    return problems


def _tool(tool: Any, where: str) -> Problems:
    problems = _names(tool, _TOOL, where) + _repeated(tool, "functionDeclarations", where)
    declarations = get(tool, "functionDeclarations")
    for j, declaration in enumerate(declarations if isinstance(declarations, list) else []):
        at = f"{where}.function_declarations[{j}]"
        problems += _names(declaration, _DECLARATION, at)
        for field in ("parameters", "response"):
            schema = get(declaration, field)
            if schema is not None:
                problems += check_schema(schema, f"{at}.{field}")
    return problems


def _generation(config: Any) -> Problems:
    problems = _names(config, _GENERATION, "generation_config")
    problems += _repeated(config, "stopSequences", "generation_config")
    problems += _names(get(config, "thinkingConfig"), _THINKING, "generation_config.thinking_config")
    schema = get(config, "responseSchema")
    if schema is not None:
        problems += check_schema(schema, "generation_config.response_schema")
    return problems


def check_count_payload(body: dict[str, Any]) -> None:
    """``countTokens``: ``contents`` or ``generateContentRequest`` (a GenerateContentRequest with its ``model``)."""
    problems = _names(body, _COUNT, "") + _repeated(body, "contents", "")
    contents = get(body, "contents")
    for i, content in enumerate(contents if isinstance(contents, list) else []):
        problems += _content(content, f"contents[{i}]")
    inner = get(body, "generateContentRequest")
    if isinstance(inner, dict):
        problems += _names({k: v for k, v in inner.items() if k not in _TOP}, spellings(["model"]), _INNER)
    if problems:
        raise payload_errors(problems)


_INNER = "generate_content_request"


def check_embed_payload(body: Any, where: str) -> None:
    """One EmbedContentRequest (``where`` is ``""`` for embedContent, ``requests[i]`` inside a batch)."""
    problems = _names(body, _EMBED, where) + _content(get(body, "content"), f"{where}.content" if where else "content")
    if problems:
        raise payload_errors(problems)


def check_batch_payload(body: dict[str, Any]) -> None:
    problems = _names(body, _BATCH, "") + _repeated(body, "requests", "")
    if problems:
        raise payload_errors(problems)
