"""Turn a validated Gemini request body into the typed call the sandbox answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.payload import get
from opentoken_sandbox.gemini.validate import declarations, parts_of, role_of
from opentoken_sandbox.prompt_cache import Segment
from opentoken_sandbox.scenario import Prompt, ToolChoice, ToolOutcome, ToolSpec
from opentoken_sandbox.tokens import IMAGE_TOKENS, count_text

_CONTENT_OVERHEAD = 1
_EMPTY_OBJECT = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class GenerateCall:
    model: GeminiModel
    stream: bool
    sse: bool
    prompt: Prompt
    include_thoughts: bool
    max_tokens: int | None
    stop_sequences: tuple[str, ...]
    candidates: int
    segments: tuple[Segment, ...]
    image_tokens: int
    logprobs: int | None = None  # None: off; N: logprobsResult with N top candidates per token
    search: bool = False  # the request offers Google Search grounding

    @property
    def input_tokens(self) -> int:
        return max(1, sum(s.tokens for s in self.segments))

    @property
    def thinking(self) -> bool:
        return self.prompt.thinking


def parse_call(body: dict[str, Any], model: GeminiModel, stream: bool, sse: bool) -> GenerateCall:
    contents: list[dict[str, Any]] = get(body, "contents")
    config = get(body, "generationConfig") or {}
    thinking = get(config, "thinkingConfig") or {}
    schema = get(config, "responseJsonSchema")
    if schema is None:
        schema = get(config, "responseSchema")
    segments, images = segments_of(body, contents)
    prompt = Prompt(
        text=_last_user_text(contents),
        tool_results=_tool_results(contents),
        tools=tuple(_tool_spec(d) for d in declarations(body)),
        choice=_choice(get(get(body, "toolConfig"), "functionCallingConfig")),
        thinking=model.thinking_on(get(thinking, "thinkingBudget"), get(thinking, "thinkingLevel")),
        output_schema=schema if isinstance(schema, dict) else None,
        json_mode=get(config, "responseMimeType") == "application/json",
        lead_text=False,
    )
    return GenerateCall(
        model=model,
        stream=stream,
        sse=sse,
        prompt=prompt,
        include_thoughts=bool(get(thinking, "includeThoughts")) and prompt.thinking,
        max_tokens=get(config, "maxOutputTokens"),
        stop_sequences=tuple(s for s in get(config, "stopSequences") or () if isinstance(s, str)),
        candidates=get(config, "candidateCount") or 1,
        segments=tuple(segments),
        image_tokens=images,
        logprobs=(get(config, "logprobs") or 0) if get(config, "responseLogprobs") else None,
        search=any(get(t, "googleSearch") is not None for t in get(body, "tools") or [] if isinstance(t, dict)),
    )


def _tool_spec(declaration: dict[str, Any]) -> ToolSpec:
    schema = get(declaration, "parametersJsonSchema")
    if schema is None:
        schema = get(declaration, "parameters")
    return ToolSpec(get(declaration, "name"), schema if isinstance(schema, dict) else _EMPTY_OBJECT)


def _choice(calling: Any) -> ToolChoice:
    mode = get(calling, "mode") or "AUTO"
    names = tuple(get(calling, "allowedFunctionNames") or ())
    if mode == "NONE":
        return ToolChoice("none")
    if mode == "ANY":
        return ToolChoice("any", names, single=len(names) == 1)
    return ToolChoice("auto")


def _last_user(contents: list[dict[str, Any]]) -> dict[str, Any] | None:
    for content in reversed(contents):
        if role_of(content) == "user":
            found: dict[str, Any] = content
            return found
    return None


def _last_user_text(contents: list[dict[str, Any]]) -> str:
    content = _last_user(contents)
    if content is None:
        return ""
    texts = [get(p, "text") for p in parts_of(content) if not get(p, "thought")]
    return "\n".join(t for t in texts if isinstance(t, str))


def response_text(response: Any) -> str:
    if isinstance(response, dict) and len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return value
    return orjson.dumps(response).decode()


def _tool_results(contents: list[dict[str, Any]]) -> tuple[ToolOutcome, ...]:
    content = _last_user(contents)
    if content is None:
        return ()
    results = [get(p, "functionResponse") for p in parts_of(content)]
    return tuple(ToolOutcome(get(r, "name"), response_text(get(r, "response") or {})) for r in results if r is not None)


def _part_tokens(part: dict[str, Any]) -> tuple[int, int]:
    """(tokens, of which image tokens) of one part."""
    text = get(part, "text")
    if isinstance(text, str):
        return count_text(text), 0
    if get(part, "inlineData") is not None or get(part, "fileData") is not None:
        return IMAGE_TOKENS, IMAGE_TOKENS
    call = get(part, "functionCall")
    if call is not None:
        return count_text(get(call, "name") + orjson.dumps(get(call, "args") or {}).decode()), 0
    response = get(part, "functionResponse")
    if response is not None:
        return count_text(get(response, "name") + orjson.dumps(get(response, "response") or {}).decode()), 0
    return count_text(orjson.dumps(part).decode()), 0


def segments_of(body: dict[str, Any], contents: list[dict[str, Any]]) -> tuple[list[Segment], int]:
    """The prompt as cache segments (system instruction and tools first, then each content); image tokens."""
    head = 0
    images = 0
    system = get(body, "systemInstruction")
    for part in parts_of(system):
        tokens, image = _part_tokens(part)
        head += tokens
        images += image
    tools = get(body, "tools")
    if tools:
        head += count_text(orjson.dumps(tools).decode())
    segments = [Segment(head, [system, tools])] if head else []
    for content in contents:
        tokens = _CONTENT_OVERHEAD
        for part in parts_of(content):
            part_tokens, image = _part_tokens(part)
            tokens += part_tokens
            images += image
        segments.append(Segment(tokens, content))
    return segments, images
