"""Generate a value that is valid against a JSON Schema (or Google's OpenAPI-subset Schema).

Used for tool-call arguments and structured output. Handles ``$ref`` into ``$defs``/``definitions``,
``anyOf``/``oneOf``/``allOf``, ``const``, ``enum``, type lists, upper-case OpenAPI types, ``nullable``,
string formats, numeric bounds, array and object sizes, ``propertyOrdering``, and Google's snake_case
keyword spellings. ``variant`` makes parallel calls of one tool differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

JSONValue = Any
_MAX_DEPTH = 8
_OPTIONAL_DEPTH = 2
_FORMATS = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}


@functools.cache
def _snake(camel: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


def _key(schema: Mapping[str, Any], camel: str) -> Any:
    """Read a keyword in camelCase or Google's snake_case spelling."""
    if camel in schema:
        return schema[camel]
    return schema.get(_snake(camel))


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Any = root
    if not ref.startswith("#"):
        return {}
    for raw in ref[1:].split("/"):
        if not raw:
            continue
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, Mapping) else {}


def _type_of(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if isinstance(t, str) and t.lower() != "null"]
        declared = non_null[0] if non_null else "null"
    if isinstance(declared, str):
        return declared.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def value_for(schema: Any, root: Any = None, variant: int = 0, name: str = "value") -> JSONValue:
    """A value valid against ``schema``; ``root`` resolves ``$ref`` (defaults to ``schema``)."""
    base = root if isinstance(root, Mapping) else schema
    return _value(schema, base if isinstance(base, Mapping) else {}, variant, name, 0)


def _value(schema: Any, root: Mapping[str, Any], variant: int, name: str, depth: int) -> JSONValue:
    if schema is True or not isinstance(schema, Mapping):
        return f"{name} {variant + 1}"
    if depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return _value(_resolve(str(schema["$ref"]), root), root, variant, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[variant % len(enum)]
    options = _key(schema, "anyOf") or _key(schema, "oneOf")
    if isinstance(options, list) and options:
        return _value(_pick_option(options, root), root, variant, name, depth + 1)
    all_of = _key(schema, "allOf")
    if isinstance(all_of, list) and all_of:
        return _value(_merge(all_of, root), root, variant, name, depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, root, variant, depth)
    if kind == "array":
        return _array(schema, root, variant, name, depth)
    if kind == "integer":
        return int(_number(schema, variant + 1, integer=True))
    if kind == "number":
        return _number(schema, variant + 1.5, integer=False)
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "null":
        return None
    return _string(schema, variant, name)


def _pick_option(options: list[Any], root: Mapping[str, Any]) -> Any:
    for option in options:
        target = _resolve(str(option["$ref"]), root) if isinstance(option, Mapping) and "$ref" in option else option
        if not (isinstance(target, Mapping) and _type_of(target) == "null" and "type" in target):
            return option
    return options[0]


def _merge(parts: list[Any], root: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        target = _resolve(str(part["$ref"]), root) if isinstance(part, Mapping) and "$ref" in part else part
        if not isinstance(target, Mapping):
            continue
        merged.update({k: v for k, v in target.items() if k not in ("properties", "required")})
        properties.update(target.get("properties") or {})
        required.extend(target.get("required") or [])
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _object(schema: Mapping[str, Any], root: Mapping[str, Any], variant: int, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        properties = {}
    required = [r for r in (schema.get("required") or []) if isinstance(r, str)]
    ordering = _key(schema, "propertyOrdering")
    names = [n for n in ordering if n in properties] if isinstance(ordering, list) else []
    names += [n for n in properties if n not in names]
    wanted = [n for n in names if n in required or depth < _OPTIONAL_DEPTH]
    minimum = _key(schema, "minProperties")
    if isinstance(minimum, int) and len(wanted) < minimum:
        wanted = names[: max(minimum, len(wanted))]
    out = {n: _value(properties[n], root, variant, n, depth + 1) for n in wanted}
    for n in required:
        if n not in out:
            out[n] = f"{n} {variant + 1}"
    return out


def _array(schema: Mapping[str, Any], root: Mapping[str, Any], variant: int, name: str, depth: int) -> list[Any]:
    prefix = _key(schema, "prefixItems")
    items = schema.get("items", {})
    low = _key(schema, "minItems")
    high = _key(schema, "maxItems")
    count = 1 if depth < 3 else 0
    if isinstance(low, int):
        count = max(count, low)
    if isinstance(high, int):
        count = min(count, high)
    if isinstance(prefix, list):
        count = max(count, len(prefix))
    out: list[Any] = []
    for i in range(count):
        item_schema = prefix[i] if isinstance(prefix, list) and i < len(prefix) else items
        out.append(_value(item_schema, root, variant + i, name, depth + 1))
    return out


def _bound(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _number(schema: Mapping[str, Any], preferred: float, integer: bool) -> float:
    low, high = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
    ex_low, ex_high = _bound(_key(schema, "exclusiveMinimum")), _bound(_key(schema, "exclusiveMaximum"))

    def fits(v: float) -> bool:
        return (
            (low is None or v >= low)
            and (high is None or v <= high)
            and (ex_low is None or v > ex_low)
            and (ex_high is None or v < ex_high)
        )

    floor = max((b for b in (low, ex_low) if b is not None), default=None)
    ceiling = min((b for b in (high, ex_high) if b is not None), default=None)
    options = [preferred]
    if floor is not None:
        options += [floor, floor + 1]
    if ceiling is not None:
        options += [ceiling, ceiling - 1]
    if floor is not None and ceiling is not None:
        options.append((floor + ceiling) / 2)
    for option in options:
        candidate = float(int(option)) if integer else option
        if fits(candidate):
            return candidate
    return preferred


def _string(schema: Mapping[str, Any], variant: int, name: str) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    text = f"{name} {variant + 1}"
    low = _key(schema, "minLength")
    high = _key(schema, "maxLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text
