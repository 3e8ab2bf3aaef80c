"""Neutral error locations and canonical field names, in Responses syntax.

``("messages", 3, "tool_calls", 0, "arguments")`` names the item that canonical message came from:
``input[5].arguments``; a part names its content index (``input[2].content[1]``); a message that came from
the stored conversation names ``previous_response_id``; the system message built from ``instructions`` names
``instructions``; a flattened namespace tool names ``tools[i].tools[j]``.
"""

from __future__ import annotations

from opentoken.core.errors import Loc
from opentoken.ingress.openai_responses.items import Origin, Source, where_of
from opentoken.ingress.openai_responses.parse import ParsedResponse

# canonical field -> the request field that carries it here (absent: the same name)
FIELDS = {
    "max_tokens": "max_output_tokens",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
    "top_logprobs": "top_logprobs",
    "logprobs": "top_logprobs",
    "tools.function.strict": "tools.strict",
    "messages": "input",
}
_TOOL_FIELDS = {"name", "parameters", "description", "strict"}


def field_name(name: str) -> str:
    return FIELDS.get(name, name)


def _item(source: Source) -> str:
    return where_of(source)


def render_loc(loc: Loc, parsed: ParsedResponse | None) -> str:
    head, rest = str(loc[0]), loc[1:]
    origins = parsed.origins if parsed is not None else ()
    match head, rest:
        case "messages", (int(i), *inner) if i < len(origins):
            return _message_loc(origins[i], inner)
        case "tools", (int(i), *inner) if parsed is not None and i < len(parsed.tools.order):
            origin = parsed.tools.origin(parsed.tools.order[i])
            path = "tools" + "".join(f"[{p}]" if n == 0 else f".tools[{p}]" for n, p in enumerate(origin.path))
            field = str(inner[0]) if inner and inner[0] in _TOOL_FIELDS else ""
            return path + (f".{field}" if field else "")
        case _:
            return field_name(head) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def _message_loc(origin: Origin, inner: list[str | int]) -> str:
    match inner:
        case ["parts", int(j), *_] if j < len(origin.parts):
            source, content = origin.parts[j]
            return _item(source) + (f".content[{content}]" if source[0] == "input" else "")
        case ["tool_calls", int(j), *more] if j < len(origin.calls):
            source = origin.calls[j]
            suffix = ".arguments" if more and more[0] == "arguments" and source[0] == "input" else ""
            return _item(source) + suffix
        case ["tool_call_id", *_] if origin.item[0] == "input":
            return _item(origin.item) + ".call_id"
        case _:
            return _item(origin.item)
