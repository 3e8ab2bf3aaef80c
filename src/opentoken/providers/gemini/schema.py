"""JSON Schema (as OpenAI clients send it) -> the schema Gemini accepts for tools and structured output.

Choice: we send tool schemas as ``parametersJsonSchema`` and response schemas as ``responseJsonSchema`` (real
JSON Schema, not the OpenAPI-subset proto ``Schema`` of ``parameters``/``responseSchema``), but only after
normalising them onto the keyword set Google documents for those fields. Why:

- ``parametersJsonSchema`` is what Google recommends for Gemini 2.5 and 3.x and what the recorded 200 replies in
  the fixture corpus used; unions keep their meaning (``anyOf`` with ``{"type": "null"}``), whereas the proto
  ``Schema`` turns them into typeless nodes that Gemini 3 answers with ``MALFORMED_FUNCTION_CALL``.
- Passing client schemas through unchanged is not safe either: Gemini still rejects some keywords and shapes
  (``$schema``, ``const``, ``$ref`` with sibling keys, required reference cycles, formats it does not know,
  ``required`` names missing from ``properties``). So the compiler below is a whitelist, not a blacklist:
  anything outside ``ALLOWED_KEYWORDS`` cannot reach the wire.

What the compiler does (every rule keeps the schema's meaning or loosens it, never tightens it):

- ``$ref`` (``#/$defs/..``, ``#/definitions/..``, any local JSON pointer) is inlined; sibling keys override the
  target. A reference cycle is cut at its second visit and replaced by the target's bare ``type`` (for
  example ``{"type": "object"}``) with its description. ``$defs``/``definitions``/``$schema``/``$id`` vanish.
- ``allOf`` is merged into one schema; ``oneOf`` becomes ``anyOf``; an ``anyOf`` of one branch is flattened;
  an ``anyOf`` whose branches only add constraints (no ``type``) is dropped.
- ``"type": [X, "null"]`` and OpenAPI ``nullable: true`` become ``anyOf: [X, {"type": "null"}]``; a type list
  with several non-null types becomes one ``anyOf`` branch per type, each with the keywords that apply to it.
- ``const`` becomes a one-value ``enum``. Enums keep string values only: ``None`` in an enum makes the node
  nullable, and a non-string enum is dropped with its values written into the description (plus the
  ``type`` inferred from them), so the model still sees the choices.
- ``format`` is kept for strings only when it is ``date-time``, ``date`` or ``time``; other formats become a
  description hint. ``exclusiveMinimum``/``exclusiveMaximum`` become ``minimum``/``maximum`` (loosened by
  nothing for numbers, by one for integers). ``additionalProperties: true`` is dropped (it is the default);
  ``false`` and sub-schemas are kept. Empty ``properties`` are left out; ``required`` keeps only names that
  are declared in ``properties``. Keywords with no Gemini equivalent (``pattern``, ``minLength``,
  ``default``, ``examples``, ``not``, ``if``/``then``/``else``, ``patternProperties``, ``propertyNames``,
  ``uniqueItems``, ``multipleOf``, ``contains``, ``dependent*``, ``unevaluated*``, ...) are dropped.
- Nesting deeper than ``MAX_DEPTH`` is cut the same way as a cycle.

Bounds (a client's schema is untrusted input, and inlining ``$ref``s can multiply it): the work of one
request's schemas is proportional to what the client sent. Compiling may visit ``BASE_NODES`` schema nodes
plus ``EXPANSION`` times the nodes sent (at most ``MAX_NODES``), and emit ``BASE_CHARS`` characters of names,
titles, descriptions and enum values plus ``EXPANSION`` times those sent (at most ``MAX_CHARS``); a path may
pass through at most ``MAX_REF_HOPS`` distinct ``$ref``s. Past any of them (a ``$ref`` bomb, a 1,000-long
``$ref`` chain) the request is refused with an ``InvalidRequest`` naming the parameter, after bounded work. So are shapes that are not JSON Schema at all (``"required":
null``, ``"properties": []``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentoken.core.errors import InvalidRequest, Loc
from opentoken.providers.gemini.schema_rules import (
    _SHAPE_KEYS,
    BASE_CHARS,
    BASE_NODES,
    EXPANSION,
    JSON_TYPES,
    MAX_CHARS,
    MAX_NODES,
    MAX_REF_HOPS,
    STRING_FORMATS,
    JSONObject,
    Refused,
    _append,
    _check_object_keywords,
    _enum,
    _infer_type,
    _number_keywords,
    _only,
    _size,
    _text_size,
    _types,
)

MAX_DEPTH = 32

ALLOWED_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)


@dataclass(slots=True)
class SchemaBudget:
    """What is left of the work one request's schemas may cause (share one across a request's schemas)."""

    nodes: int = BASE_NODES
    chars: int = BASE_CHARS

    @classmethod
    def for_schemas(cls, schemas: Iterable[Any]) -> SchemaBudget:
        """The budget for a request sending ``schemas``: the base plus ``EXPANSION`` times their size."""
        nodes, chars = _size(schemas)
        return cls(min(MAX_NODES, BASE_NODES + EXPANSION * nodes), min(MAX_CHARS, BASE_CHARS + EXPANSION * chars))


def compile_schema(
    schema: Mapping[str, Any], where: Loc | None = None, budget: SchemaBudget | None = None
) -> JSONObject:
    """Normalise ``schema`` (a JSON Schema object) into the form described in the module docstring.

    Raises ``InvalidRequest`` naming ``where`` when the schema is malformed or past a bound (see above).
    """
    try:
        out = _Compiler(schema, budget or SchemaBudget.for_schemas([schema])).node(schema, (), 0)
    except Refused as e:
        raise InvalidRequest(f"Invalid JSON Schema: {e}", loc=where) from None
    if "type" not in out and "anyOf" not in out:
        out["type"] = "object"
    return out


class _Compiler:
    def __init__(self, root: Mapping[str, Any], budget: SchemaBudget) -> None:
        self.root = root
        self.budget = budget

    def spend(self, chars: int) -> None:
        self.budget.nodes -= 1
        self.budget.chars -= chars
        if self.budget.nodes < 0:
            raise Refused(
                f"it expands to too many nodes after inlining $ref (the bound is {BASE_NODES} plus "
                f"{EXPANSION} times the nodes sent)."
            )
        if self.budget.chars < 0:
            raise Refused(
                f"its text expands too much after inlining $ref (the bound is {BASE_CHARS} characters plus "
                f"{EXPANSION} times the text sent)."
            )

    # ---- references ----

    def resolve(self, ref: str) -> Mapping[str, Any] | None:
        if not ref.startswith("#"):
            return None  # remote references cannot be fetched (providers do no I/O)
        target: Any = self.root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and key in target:
                target = target[key]
            elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                target = target[int(key)]
            else:
                return None
        return target if isinstance(target, Mapping) else None

    def inline_ref(self, s: Mapping[str, Any], stack: tuple[str, ...], depth: int) -> JSONObject:
        ref = str(s["$ref"])
        target = self.resolve(ref)
        siblings = {k: v for k, v in s.items() if k != "$ref"}
        if target is None:
            return self.node(siblings, stack, depth)
        if ref in stack or depth >= MAX_DEPTH:
            return self.cut(target, siblings, ref.rsplit("/", 1)[-1])
        if len(stack) >= MAX_REF_HOPS:
            raise Refused(f"a path passes through more than {MAX_REF_HOPS} $refs.")
        return self.node({**target, **siblings}, (*stack, ref), depth)

    def cut(self, target: Mapping[str, Any], siblings: Mapping[str, Any], name: str = "") -> JSONObject:
        """A stand-in for a schema we do not expand further: its bare type and description."""
        out: JSONObject = {}
        kind = siblings.get("type", target.get("type"))
        if isinstance(kind, str) and kind in JSON_TYPES:
            out["type"] = kind
        elif "properties" in target:
            out["type"] = "object"
        description = siblings.get("description", target.get("description"))
        hint = f"recursive: same structure as {name}" if name else "nested too deep to describe"
        out["description"] = _append(description if isinstance(description, str) else None, hint)
        return out

    # ---- one schema node ----

    def node(self, s: Any, stack: tuple[str, ...], depth: int) -> JSONObject:
        if not isinstance(s, Mapping):
            return {}  # boolean schemas and junk: "anything"
        self.spend(0)
        if depth > MAX_DEPTH:
            return self.cut(s, {})
        if "$ref" in s:
            return self.inline_ref(s, stack, depth)
        if isinstance(s.get("allOf"), list):
            return self.node(self.merge_all_of(s, stack, depth), stack, depth)
        branches = s.get("anyOf", s.get("oneOf"))
        if isinstance(branches, list):
            union = self.union(s, branches, stack, depth)
            if union is not None:
                return union
        return self.typed(s, stack, depth)

    def merge_all_of(self, s: Mapping[str, Any], stack: tuple[str, ...], depth: int) -> JSONObject:
        _check_object_keywords(s)
        merged: JSONObject = {k: v for k, v in s.items() if k != "allOf"}
        for sub in s["allOf"]:
            part = self.node(sub, stack, depth + 1)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**value, **merged.get("properties", {})}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def union(self, s: Mapping[str, Any], branches: list[Any], stack: tuple[str, ...], depth: int) -> JSONObject | None:
        """``anyOf``/``oneOf``; None when the branches only constrain (then the node is compiled without them)."""
        if not any(isinstance(b, Mapping) and not _SHAPE_KEYS.isdisjoint(b) for b in branches):
            return None
        out: list[JSONObject] = []
        for branch in branches:
            compiled = self.node(branch, stack, depth + 1)
            for item in compiled["anyOf"] if set(compiled) == {"anyOf"} else [compiled]:
                if item not in out:
                    out.append(item)
        result: JSONObject = out[0] if len(out) == 1 else {"anyOf": out}
        for key in ("title", "description"):
            if isinstance(s.get(key), str) and key not in result:
                result[key] = s[key]
        return result

    def typed(self, s: Mapping[str, Any], stack: tuple[str, ...], depth: int) -> JSONObject:
        """A node without ``$ref``/``allOf``/``anyOf``: split type lists and nullability, then copy keywords."""
        s = dict(s)
        if "const" in s:
            s["enum"] = [s.pop("const")]
        nullable = s.pop("nullable", False) is True
        kinds = _types(s)
        if isinstance(s.get("enum"), list) and None in s["enum"]:
            s["enum"] = [v for v in s["enum"] if v is not None]
            nullable = True
            if not s["enum"]:
                del s["enum"]
                kinds = kinds or ["null"]
        if kinds == ["null"]:
            return self.keywords(s, "null", stack, depth)
        if "null" in kinds:
            kinds = [k for k in kinds if k != "null"]
            nullable = True
        if len(kinds) <= 1:
            branches = [self.keywords(s, kinds[0] if kinds else None, stack, depth)]
        else:
            branches = [self.keywords(_only(s, kind), kind, stack, depth) for kind in kinds]
        if nullable and ("type" in branches[0] or len(branches) > 1):
            branches.append({"type": "null"})
        if len(branches) == 1:
            return branches[0]
        result: JSONObject = {"anyOf": branches}
        for key in ("title", "description"):
            if isinstance(s.get(key), str):
                result[key] = s[key]
                for branch in branches:
                    branch.pop(key, None)
        return result

    def keywords(self, s: Mapping[str, Any], kind: str | None, stack: tuple[str, ...], depth: int) -> JSONObject:
        out: JSONObject = {}
        description = s.get("description") if isinstance(s.get("description"), str) else None
        if isinstance(s.get("title"), str):
            out["title"] = s["title"]
        enum = s.get("enum")
        self.spend(_text_size(s, description, enum))
        if isinstance(enum, list) and enum:
            kind, description = _enum(out, enum, kind, description)
        if kind is None:
            kind = _infer_type(s)
        if kind is not None:
            out["type"] = kind
        fmt = s.get("format")
        if isinstance(fmt, str) and kind in (None, "string"):
            if fmt in STRING_FORMATS:
                out["format"] = fmt
            else:
                description = _append(description, f"format: {fmt}")
        if kind in ("object", None):
            self.object_keywords(out, s, stack, depth)
        if kind in ("array", None):
            self.array_keywords(out, s, stack, depth)
        if kind in ("number", "integer", None):
            _number_keywords(out, s, kind)
        if description is not None:
            out["description"] = description
        return out

    def object_keywords(self, out: JSONObject, s: Mapping[str, Any], stack: tuple[str, ...], depth: int) -> None:
        _check_object_keywords(s)
        props = s.get("properties")
        if isinstance(props, Mapping) and props:
            out["properties"] = {str(k): self.node(v, stack, depth + 1) for k, v in props.items()}
            required = [r for r in s.get("required", ()) if isinstance(r, str) and r in out["properties"]]
            if required:
                out["required"] = list(dict.fromkeys(required))
            ordering = s.get("propertyOrdering")
            if isinstance(ordering, list) and all(isinstance(p, str) and p in props for p in ordering):
                out["propertyOrdering"] = list(ordering)
        extra = s.get("additionalProperties")
        if extra is False:
            out["additionalProperties"] = False
        elif isinstance(extra, Mapping):
            out["additionalProperties"] = self.node(extra, stack, depth + 1)

    def array_keywords(self, out: JSONObject, s: Mapping[str, Any], stack: tuple[str, ...], depth: int) -> None:
        items = s.get("items")
        prefix = s.get("prefixItems", items if isinstance(items, list) else None)
        if isinstance(prefix, list) and prefix:
            out["prefixItems"] = [self.node(p, stack, depth + 1) for p in prefix]
        if isinstance(items, Mapping):
            out["items"] = self.node(items, stack, depth + 1)
        for key in ("minItems", "maxItems"):
            value = s.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                out[key] = value
