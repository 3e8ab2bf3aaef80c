"""Google's OpenAPI-subset ``Schema`` (``parameters``, ``responseSchema``): reject what the proto lacks.

Accepted keywords (camelCase or snake_case): type, format, title, description, nullable, enum, items,
minItems, maxItems, properties, required, minProperties, maxProperties, minLength, maxLength, pattern,
minimum, maximum, anyOf, default, example, propertyOrdering. Everything else (``additionalProperties``,
``$ref``, ``$defs``, ``$schema``, ``const``, ``oneOf``, ``allOf``, ``exclusiveMinimum``, ...) is an
"Unknown name" error, a JSON-Schema type list is "Proto field is not repeating", and a type outside
STRING/NUMBER/INTEGER/BOOLEAN/ARRAY/OBJECT/NULL is an invalid enum value.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_FIELDS = (
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "anyOf", "default", "example", "propertyOrdering",
)  # fmt: skip
_TYPES = frozenset({"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
_TYPE_ENUM = "type.googleapis.com/google.ai.generativelanguage.v1beta.Type"


@functools.cache
def snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def spellings(names: tuple[str, ...] | list[str]) -> frozenset[str]:
    """Both wire spellings Google's JSON parser accepts for each proto field."""
    return frozenset(names) | frozenset(snake(n) for n in names)


_ALLOWED = spellings(_FIELDS)


def unknown(name: str, where: str) -> tuple[str, str]:
    at = f" at '{where}'" if where else ""
    return where, f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'


def not_repeating(name: str, where: str) -> tuple[str, str]:
    return (
        where,
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Proto field is not repeating, cannot start list.",
    )


def check_schema(schema: Any, where: str) -> list[tuple[str, str]]:
    """Problems with an OpenAPI-subset schema, as (field path, message) pairs."""
    if not isinstance(schema, dict):
        return [(where, f"Invalid JSON payload received. Expected an object at '{where}'.")]
    problems: list[tuple[str, str]] = []
    for key, value in schema.items():
        if key not in _ALLOWED:
            problems.append(unknown(key, where))
        elif key == "type":
            problems += _check_type(value, where)
        elif key == "enum":
            problems += _check_strings(value, f"{where}.enum")
        elif key in ("required", "propertyOrdering", "property_ordering"):
            problems += _check_strings(value, f"{where}.{snake(key)}")
        elif key == "properties":
            problems += _check_properties(value, where)
        elif key == "items":
            if isinstance(value, list):
                problems.append(not_repeating("items", where))
            else:
                problems += check_schema(value, f"{where}.items")
        elif key in ("anyOf", "any_of"):
            if not isinstance(value, list):
                problems.append((where, f"Invalid JSON payload received. Expected a list at '{where}.any_of'."))
            else:
                for k, option in enumerate(value):
                    problems += check_schema(option, f"{where}.any_of[{k}]")
    return problems


def _check_type(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, list):
        return [not_repeating("type", where)]
    if not isinstance(value, str) or value.upper() not in _TYPES:
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        return [(f"{where}.type", f"Invalid value at '{where}.type' ({_TYPE_ENUM}), {shown}")]
    return []


def _check_strings(value: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [(where, f"Invalid JSON payload received. Expected a list at '{where}'.")]
    return [
        (f"{where}[{k}]", f"Invalid value at '{where}[{k}]' (TYPE_STRING), {item}")
        for k, item in enumerate(value)
        if not isinstance(item, str)
    ]


def _check_properties(value: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return [(f"{where}.properties", f"Invalid JSON payload received. Expected an object at '{where}.properties'.")]
    problems: list[tuple[str, str]] = []
    for k, sub in enumerate(value.values()):
        problems += check_schema(sub, f"{where}.properties[{k}].value")
    return problems
