"""The per-keyword rules of the Gemini schema compiler (``schema``): which keywords belong to which type, how
enums, numbers and type lists are rewritten, the bounds on the compiler's work and the size of what a client
sent (its budget)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

JSONObject = dict[str, Any]

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
STRING_FORMATS = frozenset({"date-time", "date", "time"})
BASE_NODES = 2_000  # schema nodes any request may visit (all tools and the response format together)
BASE_CHARS = 200_000  # characters of names, titles, descriptions and enum values any request may emit
EXPANSION = 10  # ... plus this many times what the request itself holds
MAX_NODES = 50_000
MAX_CHARS = 5_000_000
MAX_REF_HOPS = 64  # distinct $refs on one path from the root

_OBJECT_KEYS = ("properties", "required", "additionalProperties", "propertyOrdering")
_ARRAY_KEYS = ("items", "prefixItems", "minItems", "maxItems")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "object": _OBJECT_KEYS,
    "array": _ARRAY_KEYS,
    "number": _NUMBER_KEYS,
    "integer": _NUMBER_KEYS,
    "string": ("format", "enum", "const"),
}
_TYPED_KEYS = frozenset(k for keys in _TYPE_KEYS.values() for k in keys)
# keys that make an anyOf branch describe a shape (otherwise the branch only adds constraints)
_SHAPE_KEYS = frozenset({"type", "$ref", "anyOf", "oneOf", "allOf", "properties", "items", "enum", "const"})


class Refused(Exception):
    """A schema past a bound or not JSON Schema; becomes an ``InvalidRequest`` naming the parameter."""


def _append(description: str | None, hint: str) -> str:
    return f"{description} ({hint})" if description else hint


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _size(values: Iterable[Any]) -> tuple[int, int]:
    """Objects and characters of text in ``values`` (walked without recursion, stopping past the caps)."""
    nodes = chars = 0
    todo = list(values)
    while todo and nodes <= MAX_NODES and chars <= MAX_CHARS:
        value = todo.pop()
        if isinstance(value, Mapping):
            nodes += 1
            chars += sum(len(k) for k in value if isinstance(k, str))
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, str):
            chars += len(value)
    return nodes, chars


def _check_object_keywords(s: Mapping[str, Any]) -> None:
    props = s.get("properties")
    if props is not None and not isinstance(props, Mapping):
        raise Refused(f"`properties` must be an object of schemas (got {_json_kind(props)}).")
    required = s.get("required")
    if "required" in s and not isinstance(required, list):
        raise Refused(f"`required` must be an array of property names (got {_json_kind(required)}).")


def _json_kind(value: Any) -> str:
    return "null" if value is None else "array" if isinstance(value, list) else _enum_type(value)


def _text_size(s: Mapping[str, Any], description: str | None, enum: Any) -> int:
    """Characters a compiled node may carry: its title, description, enum values and property names."""
    size = len(description or "") + len(s["title"] if isinstance(s.get("title"), str) else "")
    if isinstance(enum, list):
        size += sum(len(v) if isinstance(v, str) else 8 for v in enum)
    props = s.get("properties")
    if isinstance(props, Mapping):
        size += sum(len(str(k)) for k in props)
    return size


def _types(s: Mapping[str, Any]) -> list[str]:
    kind = s.get("type")
    raw = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    return list(dict.fromkeys(str(k).lower() for k in raw if str(k).lower() in JSON_TYPES))


def _only(s: Mapping[str, Any], kind: str) -> JSONObject:
    """The keywords of ``s`` that apply to ``kind`` (for splitting ``"type": [..]`` into branches)."""
    own = _TYPE_KEYS.get(kind, ())
    out = {k: v for k, v in s.items() if k not in _TYPED_KEYS or k in own}
    if isinstance(out.get("enum"), list):
        fits = {kind, "integer"} if kind == "number" else {kind}
        out["enum"] = [v for v in out["enum"] if _enum_type(v) in fits]
        if not out["enum"]:
            del out["enum"]
    out.pop("title", None)
    out.pop("description", None)
    return out


def _enum_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _enum(out: JSONObject, enum: list[Any], kind: str | None, description: str | None) -> tuple[str | None, str | None]:
    if all(isinstance(v, str) for v in enum):
        out["enum"] = list(dict.fromkeys(enum))
        return kind or "string", description
    kinds = {_enum_type(v) for v in enum}
    if kind is None and len(kinds) == 1:
        kind = kinds.pop()
    elif kind is None and kinds <= {"integer", "number"}:
        kind = "number"
    shown = ", ".join(_show(v) for v in enum)
    return kind, _append(description, f"allowed values: {shown}")


def _show(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return repr(value) if isinstance(value, str) else str(value)


def _infer_type(s: Mapping[str, Any]) -> str | None:
    if any(k in s for k in ("properties", "additionalProperties")):
        return "object"
    if any(k in s for k in ("items", "prefixItems")):
        return "array"
    return None


def _number_keywords(out: JSONObject, s: Mapping[str, Any], kind: str | None) -> None:
    step = 1 if kind == "integer" else 0
    for key, exclusive, sign in (("minimum", "exclusiveMinimum", 1), ("maximum", "exclusiveMaximum", -1)):
        value = s.get(key)
        if _number(value):
            out[key] = value
        elif _number(s.get(exclusive)):
            out[key] = s[exclusive] + sign * step
