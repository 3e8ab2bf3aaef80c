"""Neutral error locations and canonical field names in the Messages API's syntax.

``render_loc(("messages", 3, "tool_calls", 1, "arguments"), parsed)`` names the client's own field:
``messages.2.content.4.input`` (canonical message 3 came from the client's message 2, its second tool call
from content block 4). Anthropic writes paths with dots and plain indices.
"""

from __future__ import annotations

from opentoken.core.errors import Loc
from opentoken.ingress.anthropic_messages.parse import Origin, ParsedMessages

# canonical field -> the Messages API field that carries it
FIELDS = {
    "stop": "stop_sequences",
    "reasoning_effort": "output_config.effort",
    "reasoning_budget": "thinking.budget_tokens",
    "response_format": "output_config.format",
    "parallel_tool_calls": "tool_choice.disable_parallel_tool_use",
    "user": "metadata.user_id",
    "fallback_models": "model",
}


def field_name(name: str) -> str:
    head, _, rest = name.partition(".")
    if head == "tools" and rest:
        return "tools." + rest.removeprefix("function.")
    return FIELDS.get(name, name)


def _origin(parsed: ParsedMessages | None, i: int) -> Origin | None:
    if parsed is None or i >= len(parsed.origins):
        return None
    return parsed.origins[i]


def _pick(indices: tuple[int, ...], j: int) -> int:
    return indices[j] if j < len(indices) else j


def render_loc(loc: Loc, parsed: ParsedMessages | None) -> str:
    head, rest = str(loc[0]), loc[1:]
    match head, rest:
        case "messages", (int(i), *inner):
            origin = _origin(parsed, i)
            if origin is None:
                return "messages." + ".".join(str(p) for p in (i, *inner))
            if origin.message < 0:
                return "system"
            base = f"messages.{origin.message}"
            match inner:
                case ["parts", int(j), *_]:
                    return f"{base}.content.{_pick(origin.parts, j)}"
                case ["tool_calls", int(j), *more]:
                    suffix = ".input" if more and more[0] == "arguments" else ""
                    return f"{base}.content.{_pick(origin.calls, j)}{suffix}"
                case ["tool_call_id", *_]:
                    return f"{base}.content.{_pick(origin.parts, 0)}.tool_use_id"
                case _:
                    return base
        case "tools", (int(i), *inner):
            n = parsed.tool_origins[i] if parsed is not None and i < len(parsed.tool_origins) else i
            field = {"parameters": "input_schema"}.get(str(inner[0]), str(inner[0])) if inner else ""
            return f"tools.{n}" + (f".{field}" if field else "")
        case _:
            return field_name(head) + "".join(f".{p}" for p in rest)
