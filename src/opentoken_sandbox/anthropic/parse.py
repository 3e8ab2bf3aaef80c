"""Turn a validated Anthropic request body into the typed call the sandbox answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from opentoken_sandbox.anthropic.conversation import blocks_of
from opentoken_sandbox.anthropic.documents import cites, document_tokens
from opentoken_sandbox.anthropic.features import thinking_on
from opentoken_sandbox.anthropic.models import ClaudeModel
from opentoken_sandbox.anthropic.validate import WEB_SEARCH
from opentoken_sandbox.prompt_cache import Segment
from opentoken_sandbox.scenario import Prompt, ToolChoice, ToolOutcome, ToolSpec
from opentoken_sandbox.tokens import IMAGE_TOKENS, count_text

_MESSAGE_OVERHEAD = 3


@dataclass(frozen=True)
class MessagesCall:
    model: ClaudeModel
    max_tokens: int
    stream: bool
    stop_sequences: tuple[str, ...]
    prompt: Prompt
    segments: tuple[Segment, ...]
    cached: bool
    display: str = "summarized"
    web_search: bool = False
    documents: tuple[dict[str, Any], ...] = ()  # document blocks of the last user turn that ask for citations
    context_management: bool = False
    applied_edits: tuple[dict[str, Any], ...] = ()
    history: tuple[dict[str, Any], ...] = field(default=())  # the messages after context edits

    @property
    def input_tokens(self) -> int:
        return max(1, sum(s.tokens for s in self.segments))

    @property
    def thinking(self) -> bool:
        return self.prompt.thinking


def parse_call(body: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> MessagesCall:
    """``messages``: the conversation after context edits (default: the request's own)."""
    messages = body["messages"] if messages is None else messages
    model = ClaudeModel(body["model"])
    segments, cached = segments_of(body, messages)
    config = body.get("output_config") or {}
    output = config.get("format") or body.get("output_format")
    thinking = body.get("thinking") or {}
    tools = body.get("tools") or []
    prompt = Prompt(
        text=_last_user_text(messages),
        tool_results=_tool_results(messages),
        tools=tuple(ToolSpec(t["name"], t["input_schema"]) for t in tools if t.get("type") in (None, "custom")),
        choice=_choice(body.get("tool_choice")),
        thinking=thinking_on(body) and not (thinking.get("type") == "adaptive" and config.get("effort") == "low"),
        output_schema=output["schema"] if output else None,
    )
    last = _last_user(messages)
    return MessagesCall(
        model=model,
        max_tokens=body.get("max_tokens", 0),
        stream=bool(body.get("stream")),
        stop_sequences=tuple(body.get("stop_sequences") or ()),
        prompt=prompt,
        segments=tuple(segments),
        cached=cached,
        display=thinking.get("display") or model.default_display,
        web_search=any(isinstance(t.get("type"), str) and WEB_SEARCH.match(t["type"]) for t in tools),
        documents=tuple(b for b in blocks_of(last) if cites(b)) if last else (),
        context_management=body.get("context_management") is not None,
        history=tuple(messages),
    )


def _choice(choice: Any) -> ToolChoice:
    if not isinstance(choice, dict):
        return ToolChoice()
    single = bool(choice.get("disable_parallel_tool_use"))
    kind = choice["type"]
    if kind == "tool":
        return ToolChoice("any", (choice["name"],), single=True)
    return ToolChoice(kind, (), single)


def _last_user(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    for message in reversed(messages):
        if message["role"] == "user":
            found: dict[str, Any] = message
            return found
    return None


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    message = _last_user(messages)
    if message is None:
        return ""
    return "\n".join(b["text"] for b in blocks_of(message) if b.get("type") == "text")


def result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [b.get("text", "") if b.get("type") == "text" else f"[{b.get('type')}]" for b in content]
    return "\n".join(parts)


def _tool_results(messages: list[dict[str, Any]]) -> tuple[ToolOutcome, ...]:
    message = _last_user(messages)
    if message is None:
        return ()
    names = {
        b["id"]: b["name"]
        for m in messages
        if m["role"] == "assistant"
        for b in blocks_of(m)
        if b.get("type") == "tool_use"
    }
    return tuple(
        ToolOutcome(names.get(b["tool_use_id"], "tool"), result_text(b.get("content")), bool(b.get("is_error")))
        for b in blocks_of(message)
        if b.get("type") == "tool_result"
    )


def block_tokens(block: dict[str, Any]) -> int:
    """Input tokens of one content block."""
    kind = block.get("type")
    if kind == "text":
        return count_text(block["text"])
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "tool_use":
        return count_text(block["name"] + orjson.dumps(block["input"]).decode())
    if kind == "tool_result":
        content = block.get("content")
        inner = content if isinstance(content, list) else []
        images = sum(1 for b in inner if b.get("type") == "image")
        documents = sum(document_tokens(b) for b in inner if b.get("type") == "document")
        return count_text(result_text(content)) + images * IMAGE_TOKENS + documents + 1
    if kind == "thinking":
        return count_text(block["thinking"])
    if kind == "document":
        return document_tokens(block)
    return count_text(orjson.dumps(block).decode())


def segments_of(body: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[list[Segment], bool]:
    """The prompt in processing order (tools, system, messages) as cache segments; whether any has a breakpoint."""
    segments: list[Segment] = []
    cached = False

    def add(tokens: int, material: Any) -> None:
        nonlocal cached
        control = material.get("cache_control") if isinstance(material, dict) else None
        cached |= control is not None
        ttl = control.get("ttl", "5m") if isinstance(control, dict) else "5m"
        segments.append(Segment(tokens, material, control is not None, ttl))

    for tool in body.get("tools") or []:
        add(count_text(orjson.dumps(tool).decode()), tool)
    system = body.get("system")
    if isinstance(system, str) and system:
        add(count_text(system), system)
    elif isinstance(system, list):
        for block in system:
            add(count_text(block["text"]), block)
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            add(count_text(content) + _MESSAGE_OVERHEAD, {"role": message["role"], "text": content})
            continue
        for k, block in enumerate(content):
            add(block_tokens(block) + (_MESSAGE_OVERHEAD if k == 0 else 0), block)
    top = body.get("cache_control")
    if isinstance(top, dict) and segments:
        last = segments[-1]
        segments[-1] = Segment(last.tokens, last.material, True, top.get("ttl", "5m"))
        cached = True
    return segments, cached
