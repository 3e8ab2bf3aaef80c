"""Hypothesis strategies for the fuzz suite: valid shapes drawn from a JSON Schema (the official OpenAI
document in ``tests/fixtures/openai``, or the gateway's own ``/openapi.json``), and mutations of them.

``valid(schema, components)`` walks the schema (``$ref``, ``allOf``, ``anyOf``/``oneOf``, ``enum``/``const``,
objects with required and optional properties, arrays, strings, numbers, booleans, null) with sizes kept
small and references cut at a depth, so cases are cheap to send. ``mutated(strategy)`` takes those values
and breaks them the way attackers and careless clients do: a field dropped, a value of the wrong type, an
extreme number, a deep nest, a huge string, a ``$ref`` bomb, bytes that are not JSON or not UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

JSON = Any
MAX_REF_DEPTH = 7
FEW = 4  # an object with more optional properties than this gets at most this many of them
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)


def valid(schema: JSON, components: dict[str, JSON], depth: int = 0) -> SearchStrategy[JSON]:
    if not isinstance(schema, dict):
        return st.just({})
    if "$ref" in schema:
        if depth >= MAX_REF_DEPTH:
            return st.just({})
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return valid({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, components, depth + 1)
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list) and branches:
        return st.one_of([valid(b, components, depth) for b in branches])
    if isinstance(schema.get("allOf"), list):
        return valid(_merge(schema, components), components, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([valid({**schema, "type": k}, components, depth) for k in kind])
    if kind == "object" or "properties" in schema:
        return _object(schema, components, depth)
    if kind == "array":
        items = valid(schema.get("items", {}), components, depth + 1)
        low = int(schema.get("minItems", 0))
        return st.lists(items, min_size=low, max_size=max(low, min(int(schema.get("maxItems", 3)), 3)))
    if kind == "string":
        low = int(schema.get("minLength", 0))
        return st.text(max_size=max(low, min(int(schema.get("maxLength", 24)), 24)), min_size=low)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.just({})


def _merge(schema: JSON, components: dict[str, JSON]) -> JSON:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        while isinstance(part, dict) and "$ref" in part:
            part = components[part["$ref"].rsplit("/", 1)[-1]]
        if not isinstance(part, dict):
            continue
        merged.setdefault("properties", {}).update(part.get("properties", {}))
        merged["required"] = [*merged.get("required", []), *part.get("required", [])]
        merged.setdefault("type", part.get("type", "object"))
    return merged


def _object(schema: JSON, components: dict[str, JSON], depth: int) -> SearchStrategy[JSON]:
    props: dict[str, JSON] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in props]
    if not props:
        extra = schema.get("additionalProperties")
        values = valid(extra, components, depth + 1) if isinstance(extra, dict) else st.integers(0, 9)
        return st.dictionaries(TEXT, values, max_size=2)
    fixed = {name: valid(props[name], components, depth + 1) for name in required}
    optional = {name: valid(s, components, depth + 1) for name, s in props.items() if name not in required}
    if len(optional) <= FEW:
        return st.fixed_dictionaries(fixed, optional=optional)
    return _some_of(st.fixed_dictionaries(fixed), optional)


@st.composite
def _some_of(
    draw: st.DrawFn, fixed: SearchStrategy[dict[str, JSON]], optional: dict[str, SearchStrategy[JSON]]
) -> JSON:
    """An object with its required properties and at most ``FEW`` of its many optional ones."""
    value = draw(fixed)
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=FEW, unique=True)):
        value[name] = draw(optional[name])
    return value


# ---- mutations ----

WRONG: list[JSON] = [None, 0, -1, 2**63, -(2**63) - 1, 1e308, -0.0, "", "x" * 5000, [], {}, True, "\u0000", "\u202e"]


def deep(levels: int) -> JSON:
    value: JSON = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


def ref_bomb(levels: int) -> JSON:
    defs: dict[str, JSON] = {"l0": {"type": "string"}}
    for i in range(1, levels + 1):
        below = {"$ref": f"#/$defs/l{i - 1}"}
        defs[f"l{i}"] = {"type": "object", "properties": {"a": below, "b": below}}
    return {"$defs": defs, "$ref": f"#/$defs/l{levels}"}


def _paths(value: JSON, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: JSON, path: tuple[Any, ...], new: JSON, drop: bool = False) -> JSON:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(value[head], rest, new, drop)
        return copy
    copy_list = list(value)
    if drop and not rest:
        del copy_list[head]
    else:
        copy_list[head] = _replace(value[head], rest, new, drop)
    return copy_list


@st.composite
def _mutate(draw: st.DrawFn, base: SearchStrategy[JSON]) -> bytes:
    value = draw(base)
    paths = _paths(value)
    path = draw(st.sampled_from(paths[1:] or paths))  # the body as a whole is broken by "bytes" below
    how = draw(st.sampled_from(["wrong", "drop", "deep", "bomb", "unknown", "bytes"]))
    if how == "wrong":
        value = _replace(value, path, draw(st.sampled_from(WRONG) | TEXT | st.integers()))
    elif how == "drop" and path:
        value = _replace(value, path, None, drop=True)
    elif how == "deep":
        value = _replace(value, path, deep(draw(st.sampled_from([50, 200, 600, 1100]))))
    elif how == "bomb":
        value = _replace(value, path, ref_bomb(draw(st.integers(8, 24))))
    elif how == "unknown" and isinstance(value, dict):
        name = draw(st.text(st.characters(codec="ascii", min_codepoint=0x20, max_codepoint=0x7E), max_size=12))
        value = {**value, f"x_{name}": draw(TEXT)}
    text = json.dumps(value).encode()
    if how == "bytes":
        cut = draw(st.integers(0, len(text)))
        return draw(st.sampled_from([text[:cut], text[:cut] + b"\xff\xfe", b"[" + text + b"]", b"null", b'"s"']))
    return text


def mutated(base: SearchStrategy[JSON]) -> SearchStrategy[bytes]:
    """Bodies made from ``base`` values with one thing broken."""
    return _mutate(base)


def bodies(base: SearchStrategy[JSON], broken: float = 0.5) -> SearchStrategy[bytes]:
    """Request bodies: valid ``base`` values, or (about ``broken`` of the time) mutations of them."""
    whole = base.map(lambda v: json.dumps(v).encode())
    return st.one_of(whole, mutated(base)) if broken > 0 else whole
