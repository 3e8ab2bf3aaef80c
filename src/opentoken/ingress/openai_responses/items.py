"""Responses input items -> canonical messages.

- ``message`` items keep their role (``developer`` is a system message); parts: ``input_text`` /
  ``output_text`` -> text, ``input_image`` -> image (http(s) URL or data URL), ``input_file`` -> file
  (base64 or a data URL; PDFs and text). ``refusal`` parts of assistant messages are kept as text.
- A run of assistant-side items (assistant ``message``, ``function_call``, ``custom_tool_call``,
  ``reasoning``, ``web_search_call``) is one assistant turn: its text, its tool calls in order, and the
  provider state a ``reasoning`` item carries in ``encrypted_content`` (opened by ``StateOpener``).
- ``function_call_output`` / ``custom_tool_call_output`` -> tool messages answering ``call_id``.
- Namespaced calls are renamed to their flat canonical name; a custom tool call's ``input`` string becomes
  the arguments ``{"input": ...}``.

``Origin`` records, per canonical message, which item (and content part) each piece came from, so that
neutral error locations render as ``input[3].content[1]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.ingress.body import check_base64, guess_mime, split_data_url, tool_arguments
from opentoken.ingress.openai_responses import wire as w
from opentoken.ingress.openai_responses.tools import CUSTOM_ARGUMENT, flat_name

# (where the item list came from: "input" or "previous_response_id", the item's index in it)
Source = tuple[str, int]
StateOpener = Callable[[str, str], c.ReplayState]  # (token, where) -> state; raises InvalidRequest


@dataclass(frozen=True, slots=True)
class Origin:
    """Where canonical message pieces came from: ``item`` for the message, one source per part (with the
    content index) and per tool call."""

    item: Source
    parts: tuple[tuple[Source, int], ...] = ()
    calls: tuple[Source, ...] = ()


@dataclass
class _Assistant:
    first: Source
    parts: list[c.Part] = field(default_factory=list)
    part_origins: list[tuple[Source, int]] = field(default_factory=list)
    calls: list[c.ToolCall] = field(default_factory=list)
    call_origins: list[Source] = field(default_factory=list)
    replay: c.ReplayState | None = None


def where_of(source: Source) -> str:
    return f"{source[0]}[{source[1]}]" if source[0] == "input" else source[0]


def to_messages(
    items: Sequence[tuple[Source, w.InputItem]], open_state: StateOpener
) -> tuple[list[c.Message], list[Origin]]:
    messages: list[c.Message] = []
    origins: list[Origin] = []
    turn: _Assistant | None = None

    def flush() -> None:
        nonlocal turn
        if turn is not None and (turn.parts or turn.calls):
            messages.append(
                c.Message(role="assistant", parts=tuple(turn.parts), tool_calls=tuple(turn.calls), replay=turn.replay)
            )
            origins.append(Origin(turn.first, tuple(turn.part_origins), tuple(turn.call_origins)))
        turn = None

    for source, item in items:
        at = where_of(source)
        if _assistant_side(item):
            turn = turn or _Assistant(source)
            _add_assistant(turn, source, item, at, open_state)
            continue
        flush()
        message, part_origins = _message(item, source, at)
        messages.append(message)
        origins.append(Origin(source, part_origins))
    flush()
    return messages, origins


def _assistant_side(item: w.InputItem) -> bool:
    if isinstance(item, w.MessageItem):
        return item.role == "assistant"
    return isinstance(item, w.FunctionCallItem | w.CustomToolCallItem | w.ReasoningItem | w.WebSearchCallItem)


def _add_assistant(turn: _Assistant, source: Source, item: w.InputItem, at: str, open_state: StateOpener) -> None:
    match item:
        case w.MessageItem():
            parts = [item.content] if isinstance(item.content, str) else item.content
            for j, part in enumerate(parts):
                text = _assistant_text(part, f"{at}.content[{j}]")
                if text:
                    turn.parts.append(c.TextPart(text))
                    turn.part_origins.append((source, j))
        case w.FunctionCallItem():
            name = flat_name(item.namespace, item.name)
            turn.calls.append(
                c.ToolCall(id=item.call_id, name=name, arguments=tool_arguments(item.arguments, f"{at}.arguments"))
            )
            turn.call_origins.append(source)
        case w.CustomToolCallItem():
            arguments = orjson.dumps({CUSTOM_ARGUMENT: item.input}).decode()
            turn.calls.append(
                c.ToolCall(id=item.call_id, name=flat_name(item.namespace, item.name), arguments=arguments)
            )
            turn.call_origins.append(source)
        case w.ReasoningItem():
            if item.encrypted_content:
                turn.replay = open_state(item.encrypted_content, f"{at}.encrypted_content")
        case _:
            pass  # web_search_call: the provider ran it; its result is in the text that follows


def _assistant_text(part: str | w.ContentPart, where: str) -> str:
    match part:
        case str():
            return part
        case w.OutputText() | w.InputText():
            return part.text
        case w.Refusal():
            return part.refusal
        case _:
            raise InvalidRequest("Assistant messages may only contain text.", param=where)


def _message(item: w.InputItem, source: Source, at: str) -> tuple[c.Message, tuple[tuple[Source, int], ...]]:
    match item:
        case w.MessageItem():
            role: c.Role = "system" if item.role in ("system", "developer") else "user"
            parts = [w.InputText(item.content)] if isinstance(item.content, str) else item.content
            if role == "user" and not parts:
                raise InvalidRequest("A message needs at least one content part.", param=f"{at}.content")
            kept = [(j, _part(p, f"{at}.content[{j}]", role)) for j, p in enumerate(parts)]
            kept = [(j, p) for j, p in kept if not (isinstance(p, c.TextPart) and not p.text)]
            return c.Message(role=role, parts=tuple(p for _, p in kept)), tuple((source, j) for j, _ in kept)
        case w.FunctionCallOutputItem() | w.CustomToolCallOutputItem():
            outputs = [w.InputText(item.output)] if isinstance(item.output, str) else item.output
            kept = [(j, _part(p, f"{at}.output[{j}]", "tool")) for j, p in enumerate(outputs)]
            return (
                c.Message(role="tool", parts=tuple(p for _, p in kept), tool_call_id=item.call_id),
                tuple((source, j) for j, _ in kept),
            )
        case w.ItemReference():
            raise UnsupportedParameter(
                "Item references are not supported; send the items themselves or use previous_response_id.",
                param=f"{at}.id",
            )
        case _:  # pragma: no cover - assistant-side items are handled by the caller
            raise InvalidRequest("Unexpected item.", param=at)


def _part(part: w.ContentPart, where: str, role: str) -> c.Part:
    match part:
        case w.InputText() | w.OutputText():
            return c.TextPart(part.text)
        case w.Refusal():
            return c.TextPart(part.refusal)
        case w.InputImage() if role != "system":
            return _image(part, where)
        case w.InputFile() if role != "system":
            return _file(part, where)
        case _:
            raise InvalidRequest("System and developer messages may only contain text.", param=where)


def _image(part: w.InputImage, where: str) -> c.ImagePart:
    detail = part.detail if part.detail in ("auto", "low", "high") else None
    if part.image_url is None:
        if part.file_id is not None:
            raise UnsupportedParameter("Uploaded file ids are not supported; send image_url.", param=f"{where}.file_id")
        raise InvalidRequest("An input_image needs 'image_url'.", param=f"{where}.image_url")
    url = part.image_url.strip()
    if url.startswith("data:"):
        mime, data = split_data_url(url, f"{where}.image_url")
        if not mime.startswith("image/"):
            raise InvalidRequest(f"Unsupported image type '{mime}'.", param=f"{where}.image_url")
        return c.ImagePart(data=data, media_type=mime, detail=detail)
    if re.match(r"^https?://[^\s/]+", url, re.I) is None:
        raise InvalidRequest("Image URLs must be http(s) URLs or base64 data URLs.", param=f"{where}.image_url")
    return c.ImagePart(url=url, detail=detail)


def _file(part: w.InputFile, where: str) -> c.FilePart:
    if part.file_data is None:
        field_name = "file_id" if part.file_id is not None else "file_url" if part.file_url is not None else None
        if field_name is not None:
            raise UnsupportedParameter(
                f"input_file by {field_name} is not supported; send file_data.", param=f"{where}.{field_name}"
            )
        raise InvalidRequest("An input_file needs 'file_data'.", param=f"{where}.file_data")
    if part.file_data.startswith("data:"):
        mime, data = split_data_url(part.file_data, f"{where}.file_data")
    else:
        check_base64(part.file_data, f"{where}.file_data")
        mime, data = guess_mime(part.filename), part.file_data
    return c.FilePart(data=data, media_type=mime, filename=part.filename)
