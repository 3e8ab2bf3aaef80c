"""Validate an OpenAI Chat Completions body and convert it into the canonical ``ChatRequest``.

Every rejection is an ``InvalidRequest`` whose ``param`` names the offending field the way OpenAI does
(``messages[2].role``, ``tools[0].function.name``). Unknown top-level fields are accepted and reported.
``ParsedChat`` keeps, next to the canonical request, what rendering needs: the options that shape the reply
(``stream_options.include_usage``) and where each canonical part came from (empty text parts are dropped, so
canonical part ``j`` of a message is not always content ``[j]``), for naming fields in errors.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.ingress.body import (
    check_base64,
    guess_mime,
    json_object,
    split_data_url,
    tool_arguments,
    validation_error,
)
from opentoken.ingress.openai_chat import wire as w


class ParsedChat(msgspec.Struct, frozen=True):
    request: c.ChatRequest
    ignored: tuple[str, ...] = ()  # fields accepted but not acted on (unknown, or known and unused)
    include_usage: bool = False  # stream_options.include_usage: a usage chunk ends the stream
    max_tokens_field: str = "max_tokens"  # the spelling the client used (max_completion_tokens wins)
    origins: tuple[tuple[int, ...], ...] = ()  # per message: the content index of each canonical part


def parse_body(body: bytes) -> ParsedChat:
    """Parse and validate the raw body."""
    data = json_object(body)
    try:
        req = w.decode_request(data)
    except msgspec.ValidationError as e:
        msg, param = validation_error(e)
        raise InvalidRequest(f"Invalid request: {msg}" + (f" (at {param})" if param else ""), param=param) from e
    unknown = sorted(k for k in data if k not in w.KNOWN_FIELDS)
    ignored = [k for k in w.IGNORED_FIELDS if data.get(k) is not None]
    pairs = [_message(m, i) for i, m in enumerate(req.messages)]
    messages, origins = zip(*pairs, strict=True) if pairs else ((), ())  # (message, origins) -> two columns
    return ParsedChat(
        request=to_canonical(req, messages),
        ignored=tuple(unknown + ignored),
        include_usage=bool(req.stream_options and req.stream_options.include_usage),
        max_tokens_field="max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens",
        origins=origins,
    )


def to_canonical(req: w.ChatCompletionRequest, messages: tuple[c.Message, ...]) -> c.ChatRequest:
    stream = bool(req.stream)
    if req.stream_options is not None and not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    if req.top_logprobs is not None and not req.logprobs:
        raise InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    tools = _tools(req.tools)
    stop = _stop(req.stop)
    _check_tool_results(messages)
    return c.ChatRequest(
        model=req.model,
        messages=messages,
        stream=stream,
        max_tokens=req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        stop=stop,
        candidate_count=req.n or 1,
        seed=req.seed,
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        logprobs=bool(req.logprobs),
        top_logprobs=req.top_logprobs,
        tools=tools,
        tool_choice=_tool_choice(req.tool_choice, tools),
        parallel_tool_calls=req.parallel_tool_calls,
        response_format=_response_format(req.response_format),
        reasoning_effort=req.reasoning_effort,
        user=req.user,
        fallback_models=tuple(req.models or ()),
    )


def _check_tool_results(messages: tuple[c.Message, ...]) -> None:
    """Every tool message answers a tool call made by an earlier assistant message (providers refuse others)."""
    called: set[str] = set()
    for i, m in enumerate(messages):
        called.update(call.id for call in m.tool_calls)
        if m.role == "tool" and m.tool_call_id not in called:
            raise InvalidRequest(
                f"No earlier assistant message made a tool call with id {m.tool_call_id!r}.",
                param=f"messages[{i}].tool_call_id",
            )


def _stop(stop: str | list[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    items = [stop] if isinstance(stop, str) else stop
    for i, s in enumerate(items):
        if s == "":
            raise InvalidRequest(
                "Stop sequences must not be empty.", param="stop" if isinstance(stop, str) else f"stop[{i}]"
            )
    return tuple(items)


def _tools(tools: list[w.FunctionTool | w.CustomTool] | None) -> tuple[c.Tool, ...]:
    out: list[c.Tool] = []
    seen: set[str] = set()
    for i, t in enumerate(tools or ()):
        if isinstance(t, w.CustomTool):
            raise UnsupportedParameter("Custom tools are not supported; use function tools.", param=f"tools[{i}].type")
        f = t.function
        if f.name in seen:
            raise InvalidRequest(f"Duplicate tool name '{f.name}'.", param=f"tools[{i}].function.name")
        seen.add(f.name)
        params = f.parameters
        if params is not None and params.get("type", "object") != "object":
            raise InvalidRequest(
                "Function parameters must be a JSON Schema of type 'object'.",
                param=f"tools[{i}].function.parameters",
            )
        out.append(c.Tool(name=f.name, description=f.description, parameters=params, strict=f.strict))
    return tuple(out)


def _tool_choice(choice: str | w.NamedToolChoice | None, tools: tuple[c.Tool, ...]) -> c.ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, w.NamedToolChoice):
        if choice.function.name not in {t.name for t in tools}:
            raise InvalidRequest(
                f"tool_choice names '{choice.function.name}', which is not in 'tools'.", param="tool_choice"
            )
        return c.ToolChoice(mode="function", name=choice.function.name)
    if choice == "required" and not tools:
        raise InvalidRequest("tool_choice 'required' needs at least one tool in 'tools'.", param="tool_choice")
    mode: Any = choice
    return c.ToolChoice(mode=mode)


def _response_format(fmt: Any) -> c.ResponseFormat | None:
    if fmt is None:
        return None
    if isinstance(fmt, w.TextFormat):
        return c.ResponseFormat(type="text")
    if isinstance(fmt, w.JSONObjectFormat):
        return c.ResponseFormat(type="json_object")
    js = fmt.json_schema
    if js.schema is not None and not isinstance(js.schema.get("type", "object"), str | list):
        raise InvalidRequest("json_schema.schema must be a JSON Schema.", param="response_format.json_schema.schema")
    return c.ResponseFormat(type="json_schema", name=js.name, schema=js.schema, strict=js.strict)


Origins = tuple[int, ...]


def _text_parts(
    content: str | list[w.TextPart] | list[w.TextPart | w.RefusalPart],
) -> tuple[tuple[c.Part, ...], Origins]:
    """Non-empty text parts, and the content index each came from."""
    if isinstance(content, str):
        return ((c.TextPart(content),), (0,)) if content else ((), ())
    kept = [(j, p.text) for j, p in enumerate(content) if isinstance(p, w.TextPart) and p.text]
    return tuple(c.TextPart(text) for _, text in kept), tuple(j for j, _ in kept)


def _message(m: w.Message, i: int) -> tuple[c.Message, Origins]:
    where = f"messages[{i}]"
    match m:
        case w.SystemMessage() | w.DeveloperMessage():
            parts, origins = _text_parts(m.content)
            return c.Message(role="system", parts=parts, name=m.name), origins
        case w.UserMessage():
            if isinstance(m.content, str):
                parts, origins = _text_parts(m.content)
                return c.Message(role="user", parts=parts), origins
            if not m.content:
                raise InvalidRequest("User message content must not be an empty array.", param=f"{where}.content")
            kept = [(j, _user_part(p, f"{where}.content[{j}]")) for j, p in enumerate(m.content)]
            kept = [(j, p) for j, p in kept if not (isinstance(p, c.TextPart) and not p.text)]
            return c.Message(role="user", parts=tuple(p for _, p in kept)), tuple(j for j, _ in kept)
        case w.AssistantMessage():
            return _assistant(m, where)
        case w.ToolMessage():
            if not m.tool_call_id:
                raise InvalidRequest("tool_call_id must not be empty.", param=f"{where}.tool_call_id")
            parts, origins = _text_parts(m.content)
            return c.Message(role="tool", parts=parts, tool_call_id=m.tool_call_id), origins
        case w.FunctionMessage():
            raise UnsupportedParameter(
                "The deprecated 'function' role is not supported; use 'tool' messages.", param=f"{where}.role"
            )


def _assistant(m: w.AssistantMessage, where: str) -> tuple[c.Message, Origins]:
    parts, origins = _text_parts(m.content) if m.content is not None else ((), ())
    if m.function_call is not None:
        raise UnsupportedParameter("'function_call' is deprecated; use 'tool_calls'.", param=f"{where}.function_call")
    calls: list[c.ToolCall] = []
    seen: set[str] = set()
    for j, tc in enumerate(m.tool_calls or ()):
        p = f"{where}.tool_calls[{j}]"
        if not tc.id or tc.id in seen:
            raise InvalidRequest("Each tool call needs a unique, non-empty id.", param=f"{p}.id")
        seen.add(tc.id)
        if not tc.function.name:
            raise InvalidRequest("A tool call needs a function name.", param=f"{p}.function.name")
        calls.append(
            c.ToolCall(
                id=tc.id,
                name=tc.function.name,
                arguments=tool_arguments(tc.function.arguments, f"{p}.function.arguments"),
            )
        )
    if not parts and not calls and m.content is None and m.refusal is None:
        raise InvalidRequest("An assistant message needs 'content' or 'tool_calls'.", param=f"{where}.content")
    return c.Message(role="assistant", parts=parts, tool_calls=tuple(calls), name=m.name), origins


def _user_part(p: w.UserPart, where: str) -> c.Part:
    match p:
        case w.TextPart():
            return c.TextPart(p.text)
        case w.ImagePart():
            return _image(p.image_url, f"{where}.image_url")
        case w.AudioPart():
            check_base64(p.input_audio.data, f"{where}.input_audio.data")
            return c.AudioPart(data=p.input_audio.data, format=p.input_audio.format)
        case w.FilePart():
            return _file(p.file, f"{where}.file")


def _image(img: w.ImageURL, where: str) -> c.ImagePart:
    url = img.url.strip()
    if url.startswith("data:"):
        mime, data = split_data_url(url, f"{where}.url")
        if not mime.startswith("image/"):
            raise InvalidRequest(f"Unsupported image type '{mime}'.", param=f"{where}.url")
        return c.ImagePart(data=data, media_type=mime, detail=img.detail)
    if re.match(r"^https?://[^\s/]+", url, re.I) is None:
        raise InvalidRequest("Image URLs must be http(s) URLs or base64 data URLs.", param=f"{where}.url")
    return c.ImagePart(url=url, detail=img.detail)


def _file(f: w.FileObject, where: str) -> c.FilePart:
    if f.file_id is not None and f.file_data is None:
        raise UnsupportedParameter("Uploaded file ids are not supported; send file_data.", param=f"{where}.file_id")
    if not f.file_data:
        raise InvalidRequest("A file part needs 'file_data'.", param=f"{where}.file_data")
    if f.file_data.startswith("data:"):
        mime, data = split_data_url(f.file_data, f"{where}.file_data")
    else:
        check_base64(f.file_data, f"{where}.file_data")
        mime, data = guess_mime(f.filename), f.file_data
    return c.FilePart(data=data, media_type=mime, filename=f.filename)
