"""Validate a Messages API body and convert it into the canonical ``ChatRequest``.

The body as sent travels along as ``ChatRequest.native`` (with ``anthropic-version`` and ``anthropic-beta``),
so a provider that speaks this API receives it unchanged. The canonical request is complete for every other
provider:

- ``system`` (a string or text blocks) -> a system message; ``role: "system"`` messages stay in place.
- User content: text, images (base64 or URL), documents (base64 PDF, plain text) -> parts; ``tool_result``
  blocks -> ``tool`` messages (their content: text, images, documents; ``is_error``) ahead of the user's other
  content. Assistant content: text and ``tool_use`` -> text and tool calls; thinking blocks are not
  canonical (the gateway keeps the provider state of its own replies, ``ReplayStore``).
- ``max_tokens``, ``stop_sequences``, ``temperature``, ``top_p``, ``top_k``, ``metadata.user_id`` map one to
  one; ``tools`` (client tools) and ``tool_choice`` (auto, any, tool, none, ``disable_parallel_tool_use``);
  ``thinking``: ``enabled`` -> ``reasoning_budget``, ``adaptive`` -> ``reasoning_effort`` (from
  ``output_config.effort``, else ``high``), ``disabled`` -> ``none``; ``output_config.format`` (or
  ``output_format``) -> a JSON-schema response format.
- What the canonical request has no place for (``cache_control``, ``context_management``, server tools,
  unknown block types, URL or file documents, ...) is listed in ``ParsedMessages.dropped``: reported in a
  response header when the call is translated, never an error.

Every rejection is an ``InvalidRequest`` whose ``param`` names the field as Anthropic does (``messages.2.content.0``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec
import orjson

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest
from opentoken.ingress.anthropic_messages import wire as w
from opentoken.ingress.body import json_object, validation_error

NAME = "anthropic_messages"
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a canonical message came from: the client's message index (-1: top-level ``system``), the
    content index of each canonical part and of each tool call."""

    message: int
    parts: tuple[int, ...] = ()
    calls: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedMessages:
    request: c.ChatRequest
    dropped: tuple[str, ...] = ()  # what a translated request leaves out (reported, see the module docstring)
    thinking_display: str | None = None  # "omitted": thinking text is not sent back, only signatures
    origins: tuple[Origin, ...] = ()  # per canonical message
    tool_origins: tuple[int, ...] = ()  # per canonical tool: its index in the client's ``tools``


def _param(path: str | None) -> str | None:
    """msgspec's ``$.messages[0].content`` -> Anthropic's ``messages.0.content``."""
    if not path:
        return None
    return _INDEX.sub(r".\1", path).lstrip(".")


def _invalid(e: msgspec.ValidationError, prefix: str = "") -> InvalidRequest:
    msg, path = validation_error(e)
    param = _param(path)
    param = f"{prefix}.{param}" if prefix and param else (prefix or param)
    return InvalidRequest(f"{param}: {msg}" if param else msg, param=param)


def parse_body(body: bytes, headers: Mapping[str, str], *, counting: bool = False) -> ParsedMessages:
    data = json_object(body)
    try:
        req = msgspec.convert(data, type=w.MessagesRequest)
    except msgspec.ValidationError as e:
        raise _invalid(e) from e
    if not counting and req.max_tokens is None:
        raise InvalidRequest("max_tokens: Field required", param="max_tokens")
    if req.max_tokens is not None and req.max_tokens < 1:
        raise InvalidRequest("max_tokens: must be at least 1", param="max_tokens")
    if not req.messages:
        raise InvalidRequest("messages: at least one message is required", param="messages")
    builder = _Builder()
    builder.system(req.system)
    for i, message in enumerate(req.messages):
        builder.message(message, i)
    tools, tool_origins = builder.tools(req.tools or [])
    dropped = builder.dropped
    dropped.extend(k for k in w.PASS_THROUGH_ONLY if data.get(k) is not None)
    if req.output_config and req.output_config.effort is not None and req.output_config.effort not in _EFFORTS:
        dropped.append("output_config.effort")
    dropped.extend(sorted(k for k in data if k not in w.KNOWN_FIELDS))
    native = c.NativeRequest(NAME, body, tuple((h, headers[h]) for h in FORWARDED_HEADERS if h in headers))
    request = c.ChatRequest(
        model=req.model,
        messages=tuple(builder.messages),
        stream=bool(req.stream) and not counting,
        max_tokens=req.max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        stop=tuple(req.stop_sequences or ()),
        tools=tools,
        tool_choice=_tool_choice(req.tool_choice),
        parallel_tool_calls=False if req.tool_choice and req.tool_choice.disable_parallel_tool_use else None,
        response_format=_response_format(req),
        reasoning_effort=_effort(req),
        reasoning_budget=req.thinking.budget_tokens if req.thinking and req.thinking.type == "enabled" else None,
        user=req.metadata.user_id if req.metadata else None,
        native=native,
    )
    return ParsedMessages(
        request=request,
        dropped=tuple(dict.fromkeys(dropped)),
        thinking_display=req.thinking.display if req.thinking else None,
        origins=tuple(builder.origins),
        tool_origins=tool_origins,
    )


def _tool_choice(choice: w.ToolChoice | None) -> c.ToolChoice | None:
    if choice is None:
        return None
    match choice.type:
        case "auto":
            return c.ToolChoice("auto")
        case "any":
            return c.ToolChoice("required")
        case "none":
            return c.ToolChoice("none")
        case "tool":
            if not choice.name:
                raise InvalidRequest("tool_choice.name: Field required", param="tool_choice.name")
            return c.ToolChoice("function", choice.name)


def _response_format(req: w.MessagesRequest) -> c.ResponseFormat | None:
    fmt = (req.output_config.format if req.output_config else None) or req.output_format
    return c.ResponseFormat("json_schema", schema=fmt.schema) if fmt is not None else None


_EFFORTS: dict[str, c.ReasoningEffort] = {e: e for e in ("minimal", "low", "medium", "high", "xhigh", "max")}


def _effort(req: w.MessagesRequest) -> c.ReasoningEffort | None:
    raw = req.output_config.effort if req.output_config else None
    effort = _EFFORTS.get(raw) if raw is not None else None
    thinking = req.thinking
    if thinking is None or thinking.type == "enabled":
        return effort
    if thinking.type == "disabled":
        return "none"
    return effort or "high"


def _text_of(content: str | list[w.TextBlock] | None) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    return [b.text for b in content]


@dataclass
class _Builder:
    messages: list[c.Message] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def system(self, system: str | list[w.TextBlock] | None) -> None:
        if isinstance(system, list) and any(b.cache_control for b in system):
            self.dropped.append("system.cache_control")
        for k, text in enumerate(_text_of(system)):  # one message per block: providers keep them apart
            self.messages.append(c.Message("system", (c.TextPart(text),)))
            self.origins.append(Origin(-1, (k,)))

    def message(self, message: w.MessageParam, i: int) -> None:
        blocks = self._blocks(message.content, i)
        if message.role == "assistant":
            self._assistant(blocks, i)
            return
        results = [(k, b) for k, b in blocks if isinstance(b, w.ToolResultBlock)]
        for k, result in results:
            parts, where = self._result_parts(result, i, k)
            self.messages.append(
                c.Message("tool", parts, tool_call_id=result.tool_use_id, is_error=bool(result.is_error))
            )
            self.origins.append(Origin(i, where))
        parts, where = self._parts([(k, b) for k, b in blocks if not isinstance(b, w.ToolResultBlock)], i)
        if parts or not results:
            self.messages.append(c.Message("system" if message.role == "system" else "user", parts))
            self.origins.append(Origin(i, where))

    def _blocks(self, content: str | list[w.JSONObject], i: int) -> list[tuple[int, w.Block]]:
        if isinstance(content, str):
            return [(0, w.TextBlock(content))]
        out: list[tuple[int, w.Block]] = []
        for k, raw in enumerate(content):
            try:
                out.append((k, w.block(raw)))
            except msgspec.ValidationError as e:
                raise _invalid(e, f"messages.{i}.content.{k}") from e
        return out

    def _parts(self, blocks: list[tuple[int, w.Block]], i: int) -> tuple[tuple[c.Part, ...], tuple[int, ...]]:
        parts: list[c.Part] = []
        where: list[int] = []
        for k, block in blocks:
            part = self._part(block, f"messages.{i}.content.{k}")
            if part is not None:
                parts.append(part)
                where.append(k)
        return tuple(parts), tuple(where)

    def _part(self, block: w.Block, name: str) -> c.Part | None:
        if getattr(block, "cache_control", None) is not None:
            self.dropped.append("cache_control")
        match block:
            case w.TextBlock():
                if block.citations:
                    self.dropped.append("citations")
                return c.TextPart(block.text)
            case w.ImageBlock(source=w.Base64Source() as src):
                return c.ImagePart(data=src.data, media_type=src.media_type)
            case w.ImageBlock(source=w.URLSource() as src):
                return c.ImagePart(url=src.url)
            case w.DocumentBlock(source=w.Base64Source() as src):
                return c.FilePart(data=src.data, media_type=src.media_type, filename=block.title)
            case w.DocumentBlock(source=w.TextSource() as src):
                data = base64.b64encode(src.data.encode()).decode()
                return c.FilePart(data=data, media_type="text/plain", filename=block.title)
            case w.ThinkingBlock() | w.RedactedThinkingBlock():
                return None  # provider state: the gateway re-attaches its own (ReplayStore)
            case w.OtherBlock():
                self.dropped.append(f"{name}({block.type})")
                return None
        self.dropped.append(name)  # file sources, URL or content documents, tool blocks out of place
        return None

    def _result_parts(self, result: w.ToolResultBlock, i: int, k: int) -> tuple[tuple[c.Part, ...], tuple[int, ...]]:
        if result.cache_control is not None:
            self.dropped.append("cache_control")
        content = result.content
        if content is None:
            return (), ()
        if isinstance(content, str):
            return (c.TextPart(content),), (k,)
        blocks = self._blocks(content, i)
        parts = [self._part(b, f"messages.{i}.content.{k}.content.{n}") for n, b in blocks]
        kept = [p for p in parts if p is not None]
        return tuple(kept), tuple(k for _ in kept)

    def _assistant(self, blocks: list[tuple[int, w.Block]], i: int) -> None:
        parts: list[c.Part] = []
        where: list[int] = []
        calls: list[c.ToolCall] = []
        call_where: list[int] = []
        for k, block in blocks:
            if isinstance(block, w.ToolUseBlock):
                calls.append(c.ToolCall(block.id, block.name, orjson.dumps(block.input).decode()))
                call_where.append(k)
            elif isinstance(block, w.TextBlock):
                parts.append(c.TextPart(block.text))
                where.append(k)
            else:
                self._part(block, f"messages.{i}.content.{k}")
        self.messages.append(c.Message("assistant", tuple(parts), tool_calls=tuple(calls)))
        self.origins.append(Origin(i, tuple(where), tuple(call_where)))

    def tools(self, raw: list[w.JSONObject]) -> tuple[tuple[c.Tool, ...], tuple[int, ...]]:
        tools: list[c.Tool] = []
        where: list[int] = []
        for n, item in enumerate(raw):
            try:
                tool = msgspec.convert(item, type=w.ToolParam)
            except msgspec.ValidationError as e:
                raise _invalid(e, f"tools.{n}") from e
            if tool.type not in (None, "custom"):
                self.dropped.append(f"tools.{n}({tool.type})")  # a server tool: only Anthropic runs it
                continue
            if tool.input_schema is None:
                raise InvalidRequest(f"tools.{n}.input_schema: Field required", param=f"tools.{n}.input_schema")
            extra = [name for name in ("cache_control", "defer_loading") if getattr(tool, name) is not None]
            self.dropped.extend(f"tools.{name}" for name in extra)
            tools.append(c.Tool(tool.name, tool.description, tool.input_schema, tool.strict))
            where.append(n)
        return tuple(tools), tuple(where)
