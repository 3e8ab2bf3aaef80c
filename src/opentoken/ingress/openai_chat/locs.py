"""Neutral error locations and canonical field names, in OpenAI Chat Completions syntax.

``render_loc(("messages", 3, "tool_calls", 1, "arguments"), parsed)`` gives
``messages[3].tool_calls[1].function.arguments``; a content part is named by the content index the client
used (``ParsedChat.origins``) and by its type (``messages[0].content[2].image_url``).
"""

from __future__ import annotations

from opentoken.core import chat as c
from opentoken.core.errors import Loc
from opentoken.ingress.openai_chat.parse import ParsedChat

# canonical field -> the request field that carries it here (absent: the same name)
FIELDS = {"candidate_count": "n", "fallback_models": "models"}

# a content part's own field, and its data field, by canonical part type
_PART_FIELDS: dict[type[c.Part], tuple[str, str]] = {
    c.ImagePart: ("image_url", "image_url.url"),
    c.FilePart: ("file", "file.file_data"),
    c.AudioPart: ("input_audio", "input_audio.data"),
}


def field_name(name: str, parsed: ParsedChat | None) -> str:
    if name == "max_tokens" and parsed is not None:
        return parsed.max_tokens_field
    return FIELDS.get(name, name)


def render_loc(loc: Loc, parsed: ParsedChat | None) -> str:
    head, rest = str(loc[0]), loc[1:]
    match head, rest:
        case "messages", (int(i), "parts", int(j), *inner):
            return f"messages[{i}].content[{_origin(parsed, i, j)}]" + _part_suffix(parsed, i, j, bool(inner))
        case "messages", (int(i), "tool_calls", int(j), *inner):
            field = f".function.{inner[0]}" if inner and inner[0] in ("name", "arguments") else ""
            return f"messages[{i}].tool_calls[{j}]" + (field or (f".{inner[0]}" if inner else ""))
        case "tools", (int(i), "name" | "parameters" | "description" | "strict" as field, *_):
            return f"tools[{i}].function.{field}"
        case _:
            return field_name(head, parsed) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def _origin(parsed: ParsedChat | None, i: int, j: int) -> int:
    if parsed is None or i >= len(parsed.origins) or j >= len(parsed.origins[i]):
        return j
    return parsed.origins[i][j]


def _part_suffix(parsed: ParsedChat | None, i: int, j: int, inner: bool) -> str:
    if parsed is None or i >= len(parsed.request.messages) or j >= len(parsed.request.messages[i].parts):
        return ""
    fields = _PART_FIELDS.get(type(parsed.request.messages[i].parts[j]))
    if fields is None:
        return ""
    return "." + fields[1 if inner else 0]
