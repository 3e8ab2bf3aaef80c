"""Canonical messages -> Gemini ``systemInstruction`` and ``contents``.

- System (and developer) messages are hoisted, in order, into ``systemInstruction`` (one text part each).
- ``user`` -> role ``user``; ``assistant`` -> role ``model``; ``tool`` -> ``functionResponse`` parts in a
  ``user`` content. Consecutive contents of the same role are merged; empty texts and empty turns are dropped.
- Images, files (PDF...) and audio go inline (``inlineData``). The gateway downloads http(s) images before
  calling the adapter, so an image that still has only a URL is a client-visible error.
- A run of tool messages answers the function calls of the assistant message before it: the responses are
  put in the order of those calls and there must be one per call (Gemini checks that the counts match). The
  function name comes from the earlier assistant tool call with the same id.
- Tool results: text that is a JSON object is sent as the ``response`` object itself; any other text is sent
  as ``{"content": text}``. Images and files of a tool result follow the function responses as inline parts
  of the same turn.
- Thought signatures and Gemini call ids come back from ``Message.replay`` (see ``replay``). On Gemini 3
  models, a step of the current turn whose first function call has no signature gets the documented dummy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from opentoken.core.chat import AudioPart, FilePart, ImagePart, Message, TextPart, ToolCall
from opentoken.core.chat import Part as CanonicalPart
from opentoken.core.errors import InvalidRequest, Loc
from opentoken.providers.gemini import wire
from opentoken.providers.gemini.replay import DUMMY_SIGNATURE, ReplayData, read_replay

Indexed = tuple[int, Message]


class _Call:
    __slots__ = ("name", "native")

    def __init__(self, name: str, native: bool) -> None:
        self.name = name
        self.native = native


def build_contents(
    messages: Sequence[Message], *, signature_fallback: bool
) -> tuple[wire.Content | None, list[wire.Content]]:
    """``(systemInstruction, contents)``. ``signature_fallback``: fill missing signatures with the dummy."""
    system = [wire.Part(text=m.text) for i, m in enumerate(messages) if m.role == "system" and _system_text(m, i)]
    builder = _Builder(messages, signature_fallback)
    contents = builder.contents([(i, m) for i, m in enumerate(messages) if m.role != "system"])
    if not contents:
        if not system:
            raise InvalidRequest("The conversation has no message with content.", loc=("messages",))
        return None, [wire.Content(role="user", parts=system)]
    return (wire.Content(parts=system) if system else None), contents


def _system_text(message: Message, index: int) -> bool:
    for j, part in enumerate(message.parts):
        if not isinstance(part, TextPart):
            raise InvalidRequest(
                "System and developer messages may only contain text.", loc=("messages", index, "parts", j)
            )
    return bool(message.text)


class _Builder:
    def __init__(self, messages: Sequence[Message], signature_fallback: bool) -> None:
        users = [i for i, m in enumerate(messages) if m.role == "user"]
        self.turn_start = users[-1] if users else -1  # the current turn is everything after the last user message
        self.signature_fallback = signature_fallback
        self.calls: dict[str, _Call] = {}

    def contents(self, items: list[Indexed]) -> list[wire.Content]:
        turns: list[tuple[str, list[wire.Part]]] = []
        pending: Indexed | None = None  # the assistant message whose calls await their tool messages
        k = 0
        while k < len(items):
            index, message = items[k]
            if message.role == "tool":
                end = k
                while end < len(items) and items[end][1].role == "tool":
                    end += 1
                turns.append(("user", self.responses(items[k:end], pending)))
                pending, k = None, end
                continue
            _check_answered(pending, set())
            if message.role == "user":
                turns.append(("user", [_user_part(p, index, j) for j, p in enumerate(message.parts) if _keep(p)]))
            else:
                turns.append(("model", self.model_parts(index, message)))
            pending = (index, message) if message.role == "assistant" and message.tool_calls else None
            k += 1
        _check_answered(pending, set())
        return _merge(turns)

    def model_parts(self, index: int, message: Message) -> list[wire.Part]:
        replay = read_replay(message.replay)
        parts: list[wire.Part] = []
        for j, part in enumerate(message.parts):
            if not isinstance(part, TextPart):
                raise InvalidRequest("Assistant messages may only contain text.", loc=("messages", index, "parts", j))
        if message.text:
            parts.append(wire.Part(text=message.text, thought_signature=replay.text_signature if replay else None))
        for j, call in enumerate(message.tool_calls):
            parts.append(self.call_part(call, replay, ("messages", index, "tool_calls", j, "arguments")))
        first_call = next((p for p in parts if p.function_call is not None), None)
        fallback = self.signature_fallback and index > self.turn_start
        if first_call is not None and first_call.thought_signature is None and fallback:
            first_call.thought_signature = DUMMY_SIGNATURE
        return parts

    def call_part(self, call: ToolCall, replay: ReplayData | None, where: Loc) -> wire.Part:
        saved = replay.call(call.id) if replay else None
        native = saved is not None and saved.native
        self.calls[call.id] = _Call(call.name, native)
        fc = wire.FunctionCall(name=call.name, args=_arguments(call.arguments, where), id=call.id if native else None)
        return wire.Part(function_call=fc, thought_signature=saved.signature if saved else None)

    def responses(self, group: list[Indexed], pending: Indexed | None) -> list[wire.Part]:
        order = [c.id for c in pending[1].tool_calls] if pending else []
        answered: dict[str, wire.Part] = {}
        for index, message in group:
            call_id = message.tool_call_id
            call = self.calls.get(call_id) if call_id is not None else None
            if call_id is None or call is None or call_id in answered:
                raise InvalidRequest(_tool_call_id_problem(call_id, call), loc=("messages", index, "tool_call_id"))
            answer = wire.FunctionResponse(
                name=call.name,
                response=_tool_result(message.text, message.is_error),
                id=call_id if call.native else None,
            )
            answered[call_id] = wire.Part(function_response=answer)
        _check_answered(pending, set(answered))
        rank = {call_id: n for n, call_id in enumerate(order)}
        media = [
            _user_part(p, index, j)
            for index, message in group
            for j, p in enumerate(message.parts)
            if not isinstance(p, TextPart)
        ]
        return [*(answered[c] for c in sorted(answered, key=lambda c: rank.get(c, len(rank)))), *media]


def _tool_call_id_problem(call_id: str | None, call: _Call | None) -> str:
    if call_id is None:
        return "A tool message needs the tool_call_id of the assistant tool call it answers."
    if call is None:
        return f"The tool_call_id {call_id!r} matches no tool call of an earlier assistant message."
    return f"The tool call {call_id!r} is answered by more than one tool message."


def _check_answered(pending: Indexed | None, answered: set[str]) -> None:
    if pending is None:
        return
    index, message = pending
    for j, call in enumerate(message.tool_calls):
        if call.id not in answered:
            raise InvalidRequest(
                f"The assistant tool call {call.id!r} must be followed by a tool message with that tool_call_id.",
                loc=("messages", index, "tool_calls", j),
            )


def _keep(part: CanonicalPart) -> bool:
    return not isinstance(part, TextPart) or bool(part.text)


def _user_part(part: CanonicalPart, index: int, j: int) -> wire.Part:
    match part:
        case TextPart():
            return wire.Part(text=part.text)
        case ImagePart(data=str(data), media_type=str(media_type)):
            return wire.Part(inline_data=wire.InlineData(mime_type=media_type, data=data))
        case ImagePart():
            raise InvalidRequest(
                "Gemini takes images only as inline data with a media type, and this image has none.",
                loc=("messages", index, "parts", j),
            )
        case FilePart():
            return wire.Part(inline_data=wire.InlineData(mime_type=part.media_type, data=part.data))
        case AudioPart():
            return wire.Part(inline_data=wire.InlineData(mime_type=f"audio/{part.format}", data=part.data))


def _arguments(text: str, where: Loc) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        raise InvalidRequest("Tool call arguments must be a JSON object.", loc=where) from e
    if not isinstance(value, dict):
        raise InvalidRequest("Tool call arguments must be a JSON object.", loc=where)
    return value


def _tool_result(text: str, is_error: bool) -> dict[str, Any]:
    """A tool's output as Gemini's ``functionResponse.response`` object: a JSON object output as is, other
    text under ``content``; a failed tool's output under ``error`` (the key Gemini documents for failures)."""
    if is_error:
        return {"error": text}
    try:
        value = msgspec.json.decode(text) if text.lstrip().startswith("{") else None
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"content": text}


def _merge(turns: list[tuple[str, list[wire.Part]]]) -> list[wire.Content]:
    contents: list[wire.Content] = []
    for role, parts in turns:
        if not parts:
            continue
        if contents and contents[-1].role == role:
            contents[-1].parts.extend(parts)
        else:
            contents.append(wire.Content(role=role, parts=list(parts)))
    return contents
