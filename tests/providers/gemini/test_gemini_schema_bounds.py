"""Untrusted schemas: malformed ones are 400s naming the param, and `$ref` expansion is bounded (issue 10)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, Message, ResponseFormat, TextPart, Tool
from opentoken.core.errors import InvalidRequest
from opentoken.providers.gemini.request import build_request
from opentoken.providers.gemini.schema import SchemaBudget, compile_schema
from opentoken.providers.gemini.schema_rules import MAX_REF_HOPS

GetModel = Callable[[str], ModelInfo]
HI = (Message("user", (TextPart("hi"),)),)


def ref_bomb(levels: int, leaf: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each level refers twice to the level below: ``2**levels`` leaves once inlined, ~100 bytes a level."""
    defs: dict[str, Any] = {"l0": leaf or {"type": "string"}}
    for i in range(1, levels + 1):
        below = {"$ref": f"#/$defs/l{i - 1}"}
        defs[f"l{i}"] = {"type": "object", "properties": {"a": below, "b": below}}
    return {"$defs": defs, "$ref": f"#/$defs/l{levels}"}


def ref_chain(length: int) -> dict[str, Any]:
    defs: dict[str, Any] = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(length)}
    defs[f"d{length}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "object", "properties": {"a": {}}, "required": None}, "`required` must be an array"),
        ({"type": "object", "properties": {"a": {}}, "required": 3}, "`required` must be an array"),
        ({"properties": [], "allOf": [{"properties": {"a": {}}}]}, "`properties` must be an object"),
        ({"allOf": [{"properties": []}]}, "`properties` must be an object"),
        (ref_chain(1000), f"more than {MAX_REF_HOPS} $refs"),
    ],
)
def test_malformed_schema_is_a_400_naming_the_param(model: GetModel, schema: dict[str, Any], said: str) -> None:
    tool = Tool(name="f", parameters=schema)
    with pytest.raises(InvalidRequest, match="Invalid JSON Schema") as e:
        build_request(
            ChatRequest(model="google/gemini-2.5-flash", messages=HI, tools=(tool,)), model("google/gemini-2.5-flash")
        )
    assert e.value.loc == ("tools", 0, "parameters")
    assert said in e.value.message


@pytest.mark.parametrize("levels", [20, 40])
def test_ref_bomb_is_refused_after_bounded_work(model: GetModel, levels: int) -> None:
    """Bound: a depth-20 bomb (2.3 KB, 2**20 leaves inlined) took 19 s and 180 MB; now a 400 after visiting
    at most BASE_NODES + EXPANSION x its ~100 nodes (a few ms; < 5 s asserted for a loaded machine)."""
    fmt = ResponseFormat(type="json_schema", name="x", schema=ref_bomb(levels))
    started = time.monotonic()
    with pytest.raises(InvalidRequest, match="too many nodes") as e:
        build_request(
            ChatRequest(model="google/gemini-2.5-flash", messages=HI, response_format=fmt),
            model("google/gemini-2.5-flash"),
        )
    assert time.monotonic() - started < 5  # unbounded, depth 20 took 19 s and depth 40 would never end
    assert e.value.loc == ("response_format", "schema")


def test_text_multiplied_by_refs_is_bounded() -> None:
    """A 100 KB description referenced 2**11 times would be 200 MB inlined: refused by the text bound."""
    with pytest.raises(InvalidRequest, match="text expands too much") as e:
        compile_schema(ref_bomb(11, {"type": "string", "description": "x" * 100_000}), ("p",))
    assert e.value.loc == ("p",)


def test_one_budget_covers_every_tool_of_a_request(model: GetModel) -> None:
    """Many tools that each fit are still one request's work: the budget is shared, not per tool."""
    tools = tuple(Tool(name=f"f{i}", parameters=ref_bomb(8)) for i in range(20))
    compile_schema(ref_bomb(8), ("p",))  # one alone is fine (~800 nodes visited)
    with pytest.raises(InvalidRequest, match="too many nodes") as e:
        build_request(
            ChatRequest(model="google/gemini-2.5-flash", messages=HI, tools=tools), model("google/gemini-2.5-flash")
        )
    assert e.value.loc is not None and e.value.loc[0] == "tools"


def test_a_legitimate_recursive_schema_still_compiles() -> None:
    tree = {
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "$ref": "#/$defs/node",
    }
    out = compile_schema(tree, ("p",), SchemaBudget())
    assert out["properties"]["kids"]["items"]["type"] == "object"


def test_n_above_the_candidate_limit_is_a_400(model: GetModel) -> None:
    for n in (9, 128):
        with pytest.raises(InvalidRequest, match="at most 8") as e:
            build_request(
                ChatRequest(model="google/gemini-2.5-flash", messages=HI, candidate_count=n),
                model("google/gemini-2.5-flash"),
            )
        assert e.value.loc == ("candidate_count",)
    build_request(
        ChatRequest(model="google/gemini-2.5-flash", messages=HI, candidate_count=8), model("google/gemini-2.5-flash")
    )
