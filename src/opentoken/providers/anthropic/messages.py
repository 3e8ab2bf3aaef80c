"""Canonical messages -> Anthropic ``system`` text and alternating ``user``/``assistant`` turns.

Conversation rules (wire-formats B.3, D.2):

- System (and developer) messages are hoisted, wherever they appear, into one top-level ``system`` string
  (their texts joined with a newline).
- ``user`` and ``tool`` messages both become ``user`` turns; consecutive turns of one role are merged. In a
  user turn the ``tool_result`` blocks come first, in their original order, then any other content.
- An assistant turn is: thinking blocks from ``Message.replay`` (only state this adapter produced), then
  text, then ``tool_use`` blocks (arguments parsed; empty arguments are ``{}``).
- Empty and whitespace-only text is dropped, then messages left with no content; a final assistant turn
  (a prefill) loses its trailing whitespace, which the API rejects.
- A history that starts with an assistant turn gets a short user turn first (``LEADING_USER_TEXT``).
- Images: inline data -> base64 source (JPEG, PNG, GIF, WebP only); http(s) URL -> url source, which
  Anthropic fetches itself. Files: PDF -> base64 document; text/plain -> text document; others rejected.
  Audio is rejected: Anthropic cannot take it and it is never silently dropped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import AudioPart, FilePart, ImagePart, Message, Part, TextPart, ToolCall
from opentoken.core.errors import GatewayError, InvalidRequest, Loc, UnsupportedParameter
from opentoken.providers.anthropic import wire
from opentoken.providers.anthropic.response import PROVIDER_NAME

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
LEADING_USER_TEXT = "(conversation continues)"
ResultBlock = wire.TextBlock | wire.ImageBlock | wire.DocumentBlock


@dataclass
class _Turn:
    role: Literal["user", "assistant"]
    first: list[wire.InputBlock] = field(default_factory=list)  # tool results / thinking blocks
    middle: list[wire.InputBlock] = field(default_factory=list)  # text, images, documents
    last: list[wire.InputBlock] = field(default_factory=list)  # tool_use blocks

    def extend(self, other: _Turn) -> None:
        self.first += other.first
        self.middle += other.middle
        self.last += other.last

    def blocks(self) -> list[wire.InputBlock]:
        return [*self.first, *self.middle, *self.last]


@dataclass(frozen=True)
class Conversation:
    system: str | None
    messages: list[wire.MessageParam]
    tool_names: tuple[str, ...]  # tools called in the history, in order of first use
    has_tool_blocks: bool  # the history holds tool_use or tool_result blocks


def map_conversation(messages: Sequence[Message], model: ModelInfo) -> Conversation:
    system: list[str] = []
    turns: list[_Turn] = []
    tool_names: dict[str, None] = {}
    has_tool_blocks = False
    for i, message in enumerate(messages):
        if message.role == "system":
            system.extend(_system_texts(message, i))
            continue
        turn = _turn(message, i, model)
        has_tool_blocks = has_tool_blocks or bool(message.tool_calls) or message.role == "tool"
        tool_names.update((call.name, None) for call in message.tool_calls)
        if not turn.blocks():
            continue
        if turns and turns[-1].role == turn.role:
            turns[-1].extend(turn)
        else:
            turns.append(turn)
    _trim_prefill(turns)
    if not turns:
        raise InvalidRequest(
            "The conversation needs at least one user or assistant message with content.", loc=("messages",)
        )
    if turns[0].role == "assistant":
        turns.insert(0, _Turn("user", middle=[wire.TextBlock(LEADING_USER_TEXT)]))
    return Conversation(
        system="\n".join(system) or None,
        messages=[wire.MessageParam(role=t.role, content=t.blocks()) for t in turns],
        tool_names=tuple(tool_names),
        has_tool_blocks=has_tool_blocks,
    )


def _system_texts(message: Message, i: int) -> list[str]:
    texts = []
    for j, part in enumerate(message.parts):
        if not isinstance(part, TextPart):
            raise InvalidRequest("System messages may only contain text.", loc=("messages", i, "parts", j))
        if part.text.strip():
            texts.append(part.text)
    return texts


def _turn(message: Message, i: int, model: ModelInfo) -> _Turn:
    if message.role == "user":
        return _Turn("user", middle=_content_blocks(message.parts, i, model))
    if message.role == "tool":
        if not message.tool_call_id:
            raise InvalidRequest("A tool message needs a tool_call_id.", loc=("messages", i, "tool_call_id"))
        result = wire.ToolResultBlock(
            tool_use_id=message.tool_call_id,
            content=_result_content(message.parts, i, model),
            is_error=True if message.is_error else None,
        )
        return _Turn("user", first=[result])
    return _Turn(
        "assistant",
        first=_replay_blocks(message),
        middle=_assistant_text(message, i),
        last=[_tool_use(call, i, k) for k, call in enumerate(message.tool_calls)],
    )


def _trim_prefill(turns: list[_Turn]) -> None:
    """A final assistant turn must not end in whitespace; drop what the trim empties."""
    while turns and turns[-1].role == "assistant":
        turn = turns[-1]
        if turn.last or not turn.middle or not isinstance(turn.middle[-1], wire.TextBlock):
            return
        text = turn.middle[-1].text.rstrip()
        if text:
            turn.middle[-1] = wire.TextBlock(text)
            return
        turn.middle.pop()
        if not turn.blocks():
            turns.pop()


# ---- content parts ----


def _content_blocks(parts: Sequence[Part], i: int, model: ModelInfo) -> list[wire.InputBlock]:
    blocks: list[wire.InputBlock] = []
    for j, part in enumerate(parts):
        block = _part(part, ("messages", i, "parts", j), model)
        if block is not None:
            blocks.append(block)
    return blocks


def _part(part: Part, where: Loc, model: ModelInfo) -> ResultBlock | None:
    match part:
        case TextPart():
            return wire.TextBlock(part.text) if part.text.strip() else None
        case ImagePart():
            return _image(part, where, model)
        case FilePart():
            return _document(part, where, model)
        case AudioPart():
            raise UnsupportedParameter(f"Audio input is not supported by {model.id}.", loc=where)


def _image(part: ImagePart, where: Loc, model: ModelInfo) -> wire.ImageBlock:
    if not model.capabilities.vision:
        raise UnsupportedParameter(f"Image input is not supported by {model.id}.", loc=where)
    if part.data is not None:
        media_type = (part.media_type or "").lower()
        if media_type not in IMAGE_MEDIA_TYPES:
            raise InvalidRequest(
                f"Image type {part.media_type or 'unknown'!r} is not supported; "
                "send image/jpeg, image/png, image/gif or image/webp.",
                loc=where,
            )
        return wire.ImageBlock(source=wire.Base64Source(media_type=media_type, data=part.data))
    if part.url and part.url.lower().startswith(("https://", "http://")):
        return wire.ImageBlock(source=wire.URLSource(url=part.url))
    raise InvalidRequest("An image must be an http(s) URL or a base64 data URL.", loc=where)


def _document(part: FilePart, where: Loc, model: ModelInfo) -> wire.DocumentBlock:
    media_type = part.media_type.lower()
    if media_type == "application/pdf":
        if not model.capabilities.pdf:
            raise UnsupportedParameter(f"PDF input is not supported by {model.id}.", loc=where)
        source: wire.Base64Source | wire.PlainTextSource = wire.Base64Source(media_type=media_type, data=part.data)
    elif media_type == "text/plain":
        try:
            text = base64.b64decode(part.data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise InvalidRequest("The text/plain file is not base64-encoded UTF-8 text.", loc=where) from e
        source = wire.PlainTextSource(data=text)
    else:
        raise UnsupportedParameter(
            f"File type {part.media_type!r} is not supported by {model.id}; send a PDF or a text/plain file.",
            loc=where,
        )
    return wire.DocumentBlock(source=source, title=part.filename)


def _result_content(parts: Sequence[Part], i: int, model: ModelInfo) -> str | list[ResultBlock] | None:
    """Text-only tool output becomes a string; output with images or files keeps its blocks."""
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart)) or None
    blocks = []
    for j, part in enumerate(parts):
        block = _part(part, ("messages", i, "parts", j), model)
        if block is not None:
            blocks.append(block)
    return blocks or None


# ---- assistant turns ----


def _assistant_text(message: Message, i: int) -> list[wire.InputBlock]:
    blocks: list[wire.InputBlock] = []
    for j, part in enumerate(message.parts):
        if not isinstance(part, TextPart):
            raise InvalidRequest("Assistant messages may only contain text.", loc=("messages", i, "parts", j))
        if part.text.strip():
            blocks.append(wire.TextBlock(part.text))
    return blocks


def _tool_use(call: ToolCall, i: int, k: int) -> wire.ToolUseBlock:
    raw = call.arguments.strip() or "{}"
    where: Loc = ("messages", i, "tool_calls", k, "arguments")
    try:
        parsed = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise InvalidRequest("Tool call arguments must be a JSON object.", loc=where) from e
    if not isinstance(parsed, dict):
        raise InvalidRequest("Tool call arguments must be a JSON object.", loc=where)
    return wire.ToolUseBlock(id=call.id, name=call.name, input=msgspec.Raw(raw.encode()))


def _replay_blocks(message: Message) -> list[wire.InputBlock]:
    """Thinking blocks this adapter stored for the turn; state from other providers is not ours to read."""
    if message.replay is None or message.replay.provider != PROVIDER_NAME:
        return []
    try:
        return list(wire.replay_decoder.decode(message.replay.data))
    except msgspec.DecodeError as e:
        raise GatewayError("Stored Anthropic replay state for an assistant turn is unreadable.") from e
