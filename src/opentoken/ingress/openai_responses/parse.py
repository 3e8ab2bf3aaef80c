"""Validate a ``POST /v1/responses`` body (``parse_body``) and build the canonical request (``build``).

Parsing is pure and needs nothing but the body: every rejection is an ``InvalidRequest`` whose ``param``
names the field as OpenAI does (``input[2].call_id``, ``tools[0].parameters``). Building needs what only
the request's key gives: the conversation of ``previous_response_id`` (items loaded from the response store)
and the opener of sealed reasoning state (bound to that key), so it runs once the caller is known.

``ParsedResponse`` keeps, next to the canonical request, what rendering, storing and error locations need:
the tool map (namespaces, custom tools), the client's items (with ids), the options that shape the reply.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.ingress.body import json_object, validation_error
from opentoken.ingress.openai_responses import wire as w
from opentoken.ingress.openai_responses.items import Origin, Source, StateOpener, to_messages
from opentoken.ingress.openai_responses.tools import ToolSet, parse_tool_choice, parse_tools

INCLUDE_STATE = "reasoning.encrypted_content"
_ITEM_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "reasoning": "rs",
    "web_search_call": "ws",
}


def invalid(err: msgspec.ValidationError, prefix: str = "") -> InvalidRequest:
    """A msgspec validation error as an InvalidRequest naming the field (``prefix`` + msgspec's path)."""
    msg, path = validation_error(err)
    param = prefix + ("" if path is None else path if path.startswith("[") else "." + path) if prefix else path
    return InvalidRequest(f"Invalid request: {msg}" + (f" (at {param})" if param else ""), param=param)


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    body: w.CreateResponse
    items: tuple[w.InputItem, ...]  # this request's input items, typed
    raw_items: tuple[dict[str, Any], ...]  # the same items as the client sent them, each with an id
    tools: ToolSet
    tool_choice: c.ToolChoice | None
    ignored: tuple[str, ...] = ()
    # filled by ``build`` once the key is known
    key_id: str | None = None
    history: tuple[dict[str, Any], ...] = ()  # the items of previous_response_id's conversation
    history_bytes: int = 0  # its size as stored (counted in the prompt estimate that admits the request)
    request: c.ChatRequest | None = None
    origins: tuple[Origin, ...] = ()  # per canonical message

    @property
    def stream(self) -> bool:
        return bool(self.body.stream)

    @property
    def store(self) -> bool:
        return self.body.store is not False

    @property
    def include_state(self) -> bool:
        return INCLUDE_STATE in (self.body.include or ())

    @property
    def summaries(self) -> bool:
        r = self.body.reasoning
        return r is not None and (r.summary or r.generate_summary) is not None

    @property
    def instructions(self) -> bool:
        return bool(self.body.instructions)


def parse_body(body: bytes) -> ParsedResponse:
    data = json_object(body)
    try:
        req = w.decode_request(data)
    except msgspec.ValidationError as e:
        raise invalid(e) from e
    _refuse(req)
    raw = [{"type": "message", "role": "user", "content": req.input}] if isinstance(req.input, str) else req.input
    items, raw_items = _items(raw or [])
    tools = parse_tools(req.tools, invalid)
    choice, tools = parse_tool_choice(req.tool_choice, tools)
    unknown = sorted(k for k in data if k not in w.KNOWN_FIELDS)
    ignored = [k for k in w.IGNORED_FIELDS if data.get(k) is not None]
    if req.truncation == "auto":
        ignored.append("truncation")
    if req.text is not None and req.text.verbosity is not None:
        ignored.append("text.verbosity")
    return ParsedResponse(req, items, raw_items, tools, choice, tuple(unknown + ignored))


def _refuse(req: w.CreateResponse) -> None:
    if req.background:
        raise UnsupportedParameter("Background responses are not supported; omit 'background'.", param="background")
    if req.conversation is not None:
        raise UnsupportedParameter(
            "Conversations are not supported; use previous_response_id or send the items.", param="conversation"
        )
    if req.prompt is not None:
        raise UnsupportedParameter("Stored prompt templates are not supported; send 'input'.", param="prompt")
    if req.previous_response_id is not None and not req.previous_response_id.startswith("resp_"):
        raise InvalidRequest(
            f"Invalid 'previous_response_id': '{req.previous_response_id}'. Expected an ID that begins with 'resp'.",
            param="previous_response_id",
        )


def _items(raw: list[Any]) -> tuple[tuple[w.InputItem, ...], tuple[dict[str, Any], ...]]:
    items: list[w.InputItem] = []
    kept: list[dict[str, Any]] = []
    for i, data in enumerate(raw):
        try:
            item = w.decode_item(data)
        except msgspec.ValidationError as e:
            raise invalid(e, f"input[{i}]") from e
        items.append(item)
        kept.append(_with_id(data, item))
    return tuple(items), tuple(kept)


def _with_id(data: dict[str, Any], item: w.InputItem) -> dict[str, Any]:
    """The client's item as stored and listed (an ``ItemResource``): with ``type``, an ``id`` (minted when it
    has none), message content as a list of parts, and the fields the resource shapes require."""
    kind = getattr(item, "type", None) or "item_reference"
    out = {"type": kind, **{k: v for k, v in data.items() if k != "type"}}
    if not out.get("id"):
        out["id"] = f"{_ITEM_PREFIX.get(kind, 'item')}_{secrets.token_hex(12)}"
    if kind != "message":
        return out
    assistant = out.get("role") == "assistant"
    content = out.get("content")
    if isinstance(content, str):
        content = [{"type": "output_text" if assistant else "input_text", "text": content}]
    parts = []
    for part in content if isinstance(content, list) else []:
        part = dict(part)
        if part.get("type") == "input_text" and assistant:
            part["type"] = "output_text"
        if part.get("type") == "output_text":
            part.setdefault("annotations", [])
            part.setdefault("logprobs", [])
        if part.get("type") == "input_image":
            part.setdefault("detail", "auto")
        parts.append(part)
    out["content"] = parts
    if assistant:
        out.setdefault("status", "completed")
    return out


def decode_history(history: tuple[dict[str, Any], ...]) -> list[w.InputItem]:
    """Stored conversation items (written by this gateway) as typed items."""
    try:
        return [w.decode_item(data) for data in history]
    except msgspec.ValidationError as e:
        raise InvalidRequest(
            "The stored conversation of previous_response_id cannot be read by this gateway version.",
            param="previous_response_id",
        ) from e


def build(
    parsed: ParsedResponse, key_id: str, history: tuple[dict[str, Any], ...], open_state: StateOpener
) -> ParsedResponse:
    """The canonical request for ``parsed``: instructions, the previous conversation, then this input."""
    req = parsed.body
    sources: list[tuple[Source, w.InputItem]] = [
        (("previous_response_id", n), it) for n, it in enumerate(decode_history(history))
    ]
    sources += [(("input", i), item) for i, item in enumerate(parsed.items)]
    messages, origins = to_messages(sources, open_state)
    if req.instructions:
        messages.insert(0, c.Message(role="system", parts=(c.TextPart(req.instructions),)))
        origins.insert(0, Origin(("instructions", 0)))
    if not any(m.role != "system" for m in messages):
        raise InvalidRequest("'input' must contain at least one message or item.", param="input")
    reasoning = req.reasoning
    fmt = req.text.format if req.text is not None else None
    request = c.ChatRequest(
        model=req.model,
        messages=tuple(messages),
        stream=bool(req.stream),
        max_tokens=req.max_output_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        logprobs=req.top_logprobs is not None and req.top_logprobs > 0,
        top_logprobs=req.top_logprobs or None,
        tools=parsed.tools.tools,
        tool_choice=parsed.tool_choice,
        parallel_tool_calls=req.parallel_tool_calls,
        response_format=_format(fmt),
        reasoning_effort=reasoning.effort if reasoning is not None else None,
        user=req.user,
        web_search=c.WebSearch() if parsed.tools.web_search else None,
        prompt_cache_key=req.prompt_cache_key,
    )
    return replace(parsed, key_id=key_id, history=history, request=request, origins=tuple(origins))


def _format(fmt: w.TextFormat | None) -> c.ResponseFormat | None:
    if fmt is None:
        return None
    if fmt.type == "json_schema":
        if fmt.schema is None or fmt.name is None:
            missing = "schema" if fmt.schema is None else "name"
            raise InvalidRequest(f"text.format json_schema needs '{missing}'.", param=f"text.format.{missing}")
        return c.ResponseFormat(type="json_schema", name=fmt.name, schema=fmt.schema, strict=fmt.strict)
    return c.ResponseFormat(type=fmt.type)
