"""The tool/response schema compiler on real-world schemas: the output uses only keywords Gemini documents,
and it still accepts every instance the original schema accepts (the compiler may loosen, never tighten)."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import AnyUrl, BaseModel, Field

from opentoken.providers.gemini.schema import ALLOWED_KEYWORDS, compile_schema
from opentoken.providers.gemini.schema_rules import JSON_TYPES, STRING_FORMATS

REJECTED = {
    "$schema",
    "$ref",
    "$defs",
    "$id",
    "definitions",
    "const",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "propertyNames",
    "patternProperties",
    "oneOf",
    "allOf",
    "not",
    "default",
    "examples",
    "pattern",
    "minLength",
    "maxLength",
    "nullable",
    "uniqueItems",
    "multipleOf",
}


def subschemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield schema
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from subschemas(schema[key])
    for key in ("anyOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from subschemas(sub)
    for sub in schema.get("properties", {}).values():
        yield from subschemas(sub)


def assert_gemini_safe(schema: dict[str, Any]) -> None:
    assert "$" not in json.dumps([sorted(s) for s in subschemas(schema)])
    for node in subschemas(schema):
        assert set(node) <= ALLOWED_KEYWORDS, set(node) - ALLOWED_KEYWORDS
        assert not set(node) & REJECTED
        if "type" in node:
            assert isinstance(node["type"], str) and node["type"] in JSON_TYPES
        if "enum" in node:
            assert node["enum"] and all(isinstance(v, str) for v in node["enum"])
        if "properties" in node:
            assert node["properties"], "empty properties"
        assert set(node.get("required", [])) <= set(node.get("properties", {}))
        if "format" in node:
            assert node["format"] in STRING_FORMATS and node.get("type", "string") == "string"
        if "anyOf" in node:
            assert len(node["anyOf"]) >= 2
        if "additionalProperties" in node:
            assert node["additionalProperties"] is False or isinstance(node["additionalProperties"], dict)


def assert_accepts_same(original: dict[str, Any], compiled: dict[str, Any], instances: list[Any]) -> None:
    for instance in instances:
        jsonschema.validate(instance, original)  # the sample is valid under the original...
        jsonschema.validate(instance, compiled)  # ...and still valid after compiling


# ---- pydantic v2 ----


class Color(enum.StrEnum):
    RED = "red"
    GREEN = "green"


class Priority(int, enum.Enum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str = Field(min_length=1, max_length=200)
    postcode: str | None = Field(default=None, pattern=r"^[0-9]{4,5}$")


class TreeNode(BaseModel):
    label: str
    children: list[TreeNode] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: Annotated[int, Field(gt=0, le=9)]


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Order(BaseModel):
    """An order with nested models."""

    id: int = Field(ge=1)
    home: Address = Field(description="Where to ship")
    billing: Address | None = None
    color: Color
    priority: Priority = Priority.LOW
    mode: Literal["fast", "cheap"] = "fast"
    version: Literal[2] = 2
    pet: Cat | Dog = Field(discriminator="kind")
    tree: TreeNode
    tags: dict[str, int] = {}
    site: AnyUrl | None = None
    scores: list[float] = Field(default_factory=list, max_length=3)
    pair: tuple[int, str] | None = None


ORDER = {
    "id": 3,
    "home": {"street": "Main 1"},
    "billing": {"street": "Side 2", "postcode": "12345"},
    "color": "red",
    "priority": 2,
    "mode": "cheap",
    "version": 2,
    "pet": {"kind": "cat", "lives": 9},
    "tree": {"label": "root", "children": [{"label": "a", "children": [{"label": "b"}]}]},
    "tags": {"x": 1},
    "site": "https://example.com",
    "scores": [1.5],
    "pair": [1, "a"],
}


def test_pydantic_model_schema() -> None:
    original = Order.model_json_schema()
    assert "$defs" in original  # the case we are testing: nested models referenced from $defs
    compiled = compile_schema(original)
    assert_gemini_safe(compiled)
    assert_accepts_same(original, compiled, [ORDER, {**ORDER, "billing": None, "pet": {"kind": "dog"}, "site": None}])
    props = compiled["properties"]
    assert props["home"]["description"] == "Where to ship"
    assert props["home"]["properties"]["street"] == {"title": "Street", "type": "string"}
    assert props["billing"]["anyOf"][1] == {"type": "null"}
    assert props["color"]["enum"] == ["red", "green"]
    assert props["priority"]["type"] == "integer" and "allowed values: 1, 2" in props["priority"]["description"]
    assert props["mode"]["enum"] == ["fast", "cheap"]
    assert [b["properties"]["kind"]["enum"] for b in props["pet"]["anyOf"]] == [["cat"], ["dog"]]
    assert props["pet"]["anyOf"][0]["properties"]["lives"] == {
        "title": "Lives",
        "type": "integer",
        "minimum": 1,
        "maximum": 9,
    }
    children = props["tree"]["properties"]["children"]
    assert children["items"]["type"] == "object"  # the recursion is cut, not followed forever
    assert "recursive" in children["items"]["description"]
    assert props["tags"]["additionalProperties"] == {"type": "integer"}
    assert set(compiled["required"]) == {"id", "home", "color", "pet", "tree"}


def test_pydantic_response_schema_from_fixture(gemini_fixture: Any) -> None:
    """The recorded responseJsonSchema ($defs + $ref) compiles, and the recorded answer fits the result."""
    fixture = gemini_fixture("nonstream_json_response_json_schema")
    original = fixture["request"]["body"]["generationConfig"]["responseJsonSchema"]
    compiled = compile_schema(original)
    assert_gemini_safe(compiled)
    answer = json.loads(fixture["response"]["body"]["candidates"][0]["content"]["parts"][0]["text"])
    assert_accepts_same(original, compiled, [answer])
    item = compiled["properties"]["pages"]["items"]["properties"]["items"]["items"]
    assert item["properties"]["value"] == {"description": "Value of the item", "type": "integer"}


def test_recursive_tool_schema_from_fixture(gemini_fixture: Any) -> None:
    request = gemini_fixture("nonstream_implicit_cache_hit")["request"]["body"]
    original = request["tools"][0]["functionDeclarations"][0]["parameters_json_schema"]
    compiled = compile_schema(original)
    assert_gemini_safe(compiled)
    args = request["contents"][1]["parts"][0]["functionCall"]["args"]
    assert_accepts_same(original, compiled, [args])
    deep = compiled["properties"]["deep"]["properties"]["b"]["properties"]["c"]["properties"]["d"]
    assert deep == {"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}


# ---- zod-to-json-schema (draft-07, "$refStrategy: root" paths, nullable type arrays, const) ----

ZOD = {
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "nickname": {"type": ["string", "null"], "minLength": 2},
        "age": {"type": "integer", "exclusiveMinimum": 0},
        "role": {"type": "string", "const": "admin"},
        "level": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
        "when": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 5},
        "billing": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^\\d+$"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "shipping": {"$ref": "#/properties/billing"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "meta": {"type": "object", "properties": {}, "additionalProperties": True},
        "flag": {"type": ["boolean", "string", "null"], "enum": [True, "auto", None]},
    },
    "required": ["email", "age", "role", "billing"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
ZOD_OK = [
    {"email": "a@b.c", "age": 1, "role": "admin", "billing": {"city": "X"}},
    {
        "email": "a@b.c",
        "nickname": None,
        "age": 30,
        "role": "admin",
        "level": None,
        "when": "2026-01-01T00:00:00Z",
        "tags": ["x"],
        "billing": {"city": "X", "zip": "1"},
        "shipping": {"city": "Y"},
        "kind": "b",
        "meta": {"anything": [1]},
        "flag": "auto",
    },
]


def test_zod_to_json_schema_output() -> None:
    compiled = compile_schema(ZOD)
    assert_gemini_safe(compiled)
    assert_accepts_same(ZOD, compiled, ZOD_OK)
    props = compiled["properties"]
    assert props["email"] == {"type": "string", "description": "format: email"}
    assert props["nickname"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["age"] == {"type": "integer", "minimum": 1}
    assert props["role"] == {"type": "string", "enum": ["admin"]}
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["shipping"] == props["billing"]
    assert props["meta"] == {"type": "object"}
    assert props["flag"]["anyOf"] == [{"type": "boolean"}, {"type": "string", "enum": ["auto"]}, {"type": "null"}]
    assert compiled["additionalProperties"] is False


# ---- MCP server tool inputSchemas ----

MCP_EDIT_FILE = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "edits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "oldText": {"type": "string", "description": "Text to search for - must match exactly"},
                    "newText": {"type": "string", "description": "Text to replace with"},
                },
                "required": ["oldText", "newText"],
                "additionalProperties": False,
            },
        },
        "dryRun": {"type": "boolean", "default": False, "description": "Preview changes using git-style diff format"},
    },
    "required": ["path", "edits"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
MCP_SCRAPE = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "The URL to scrape"},
        "formats": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string", "enum": ["markdown", "html"]},
                    {"type": "object", "properties": {"type": {"const": "json"}, "schema": {"type": "object"}}},
                ]
            },
        },
        "headers": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {"type": "string"}},
        "waitFor": {"type": "number", "multipleOf": 100, "minimum": 0},
        "location": {"allOf": [{"$ref": "#/$defs/Location"}], "description": "Where to scrape from"},
        "actions": {"type": "array", "items": {"type": "object", "patternProperties": {"^x-": {"type": "string"}}}},
    },
    "required": ["url", "selector"],
    "$defs": {
        "Location": {
            "type": "object",
            "properties": {"country": {"type": "string"}, "languages": {"type": "array", "items": {"type": "string"}}},
            "required": ["country"],
        }
    },
}


@pytest.mark.parametrize(
    ("schema", "instances"),
    [
        (MCP_EDIT_FILE, [{"path": "a.txt", "edits": [{"oldText": "a", "newText": "b"}], "dryRun": True}]),
        (
            MCP_SCRAPE,
            [
                {
                    "url": "https://x.y",
                    "selector": "#main",
                    "formats": ["markdown", {"type": "json", "schema": {}}],
                    "headers": {"a": "b"},
                    "waitFor": 200,
                    "location": {"country": "NO", "languages": ["nb"]},
                    "actions": [{"x-a": "1"}],
                }
            ],
        ),
    ],
)
def test_mcp_tool_input_schemas(schema: dict[str, Any], instances: list[Any]) -> None:
    compiled = compile_schema(schema)
    assert_gemini_safe(compiled)
    assert_accepts_same(schema, compiled, instances)


def test_mcp_scrape_details() -> None:
    props = compile_schema(MCP_SCRAPE)
    assert props["required"] == ["url"]  # "selector" is not declared in properties
    assert props["properties"]["location"]["description"] == "Where to scrape from"
    assert props["properties"]["location"]["required"] == ["country"]
    assert props["properties"]["formats"]["items"]["anyOf"][1]["properties"]["type"] == {
        "type": "string",
        "enum": ["json"],
    }
    assert props["properties"]["url"]["description"] == "The URL to scrape (format: uri)"


# ---- small cases ----


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, {"type": "object"}),
        ({"type": "object", "properties": {}, "required": ["x"]}, {"type": "object"}),
        (
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
            {"type": "object", "properties": {"a": {"type": "string"}}},
        ),
        ({"type": "object", "properties": {"a": True}}, {"type": "object", "properties": {"a": {}}}),
        (
            {"type": "object", "properties": {"a": {"type": "null"}}},
            {"type": "object", "properties": {"a": {"type": "null"}}},
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "nullable": True, "description": "d"}}},
            {
                "type": "object",
                "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"}},
            },
        ),
        (
            {"type": "object", "properties": {"a": {"enum": ["x", None]}}},
            {"type": "object", "properties": {"a": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "null"}]}}},
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "anyOf": [{"format": "date"}, {"format": "email"}]}},
            },
            {"type": "object", "properties": {"a": {"type": "string"}}},
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]}},
            },
            {
                "type": "object",
                "properties": {"a": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}},
            },
        ),
        (
            {"type": "object", "properties": {"n": {"const": 3}}},
            {"type": "object", "properties": {"n": {"type": "integer", "description": "allowed values: 3"}}},
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
            {"type": "object", "properties": {"a": {}}},
        ),
    ],
)
def test_small_cases(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    compiled = compile_schema(schema)
    assert compiled == expected
    assert_gemini_safe(compiled)


def test_self_reference_to_root_is_cut() -> None:
    schema = {
        "type": "object",
        "description": "A node",
        "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}},
    }
    compiled = compile_schema(schema)
    inner = compiled["properties"]["next"]["properties"]["next"]
    assert inner["type"] == "object" and inner["description"].startswith("A node")
    assert_gemini_safe(compiled)


def test_deep_nesting_is_bounded() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(100):
        schema = {"type": "object", "properties": {"x": schema}}
    compiled = compile_schema(schema)
    assert_gemini_safe(compiled)
    assert json.dumps(compiled).count('"properties"') <= 40
