"""The simulated Gemini API enforces the real request rules with google.rpc.Status errors."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

WEATHER_DECL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def call_turn(signature: str | None = None, count: int = 1) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}} for _ in range(count)
    ]
    if signature is not None:
        parts[0]["thoughtSignature"] = signature
    return {"role": "model", "parts": parts}


def response_turn(count: int = 1) -> dict[str, Any]:
    part = {"functionResponse": {"name": "get_weather", "response": {"content": "3C"}}}
    return {"role": "user", "parts": [copy.deepcopy(part) for _ in range(count)]}


def body(contents: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"contents": contents, "tools": [{"functionDeclarations": [WEATHER_DECL]}], **extra}


def assert_error(reply: Any, code: int, status: str, message: str) -> dict[str, Any]:
    assert reply.status == code, reply.text
    assert reply.headers["Content-Type"] == "application/json; charset=UTF-8"
    error = reply.json()["error"]
    assert error["code"] == code and error["status"] == status
    assert message in error["message"], error["message"]
    return error


async def test_api_key_rules(sbx) -> None:
    ok = body([user("hi")])
    missing = await sbx.gemini("gemini-2.5-flash", ok, headers={})
    assert_error(missing, 403, "PERMISSION_DENIED", "unregistered callers")
    invalid = await sbx.gemini("gemini-2.5-flash", ok, headers={"x-goog-api-key": "invalid-key"})
    error = assert_error(invalid, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    info = next(d for d in error["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
    assert info["reason"] == "API_KEY_INVALID"
    by_query = await sbx.post("/v1beta/models/gemini-2.5-flash:generateContent?key=abc", ok, {})
    assert by_query.status == 200


async def test_unknown_model_is_not_found(sbx) -> None:
    reply = await sbx.gemini("gemini-does-not-exist", body([user("hi")]))
    assert_error(
        reply,
        404,
        "NOT_FOUND",
        "models/gemini-does-not-exist is not found for API version v1beta, or is not supported for generateContent. "
        "Call ModelService.ListModels to see the list of available models and their supported methods.",
    )


CONTENT_RULES = [
    (
        "bad role",
        [{"role": "assistant", "parts": [{"text": "x"}]}, user("hi")],
        "Please use a valid role: user, model.",
    ),
    (
        "system role",
        [{"role": "system", "parts": [{"text": "x"}]}, user("hi")],
        "Please use a valid role: user, model.",
    ),
    ("no contents", [], "contents is not specified"),
    ("empty parts", [{"role": "user", "parts": []}], "contents.parts must not be empty."),
    ("empty part", [{"role": "user", "parts": [{}]}], "required oneof field 'data' must have one initialized field"),
    (
        "call after model turn",
        [user("hi"), {"role": "model", "parts": [{"text": "ok"}]}, call_turn(), response_turn()],
        "Please ensure that function call turn comes immediately after a user turn or after a function response turn.",
    ),
    (
        "too few responses",
        [user("hi"), call_turn(count=2), response_turn(1)],
        "Please ensure that the number of function response parts is equal to the number of function call parts",
    ),
    (
        "response without a call",
        [user("hi"), {"role": "model", "parts": [{"text": "ok"}]}, response_turn()],
        "function response turn comes immediately after a function call turn",
    ),
]


@pytest.mark.parametrize(("name", "contents", "message"), CONTENT_RULES, ids=[c[0] for c in CONTENT_RULES])
async def test_content_rules(sbx, name, contents, message) -> None:
    assert_error(await sbx.gemini("gemini-2.5-flash", body(contents)), 400, "INVALID_ARGUMENT", message)


SCHEMA_RULES = [
    (
        "additionalProperties",
        {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "additionalProperties": False},
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters': Cannot find field.",
    ),
    (
        "nested $ref",
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"$ref": "#/x"}}}},
        "Unknown name \"$ref\" at 'tools[0].function_declarations[0].parameters.properties[1].value.items': Cannot find field.",
    ),
    (
        "const",
        {"type": "object", "properties": {"a": {"const": "x"}}},
        "Unknown name \"const\" at 'tools[0].function_declarations[0].parameters.properties[0].value'",
    ),
    (
        "type list",
        {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
        "Unknown name \"type\" at 'tools[0].function_declarations[0].parameters.properties[0].value': "
        "Proto field is not repeating, cannot start list.",
    ),
    (
        "bad type",
        {"type": "object", "properties": {"a": {"type": "text"}}},
        "Invalid value at 'tools[0].function_declarations[0].parameters.properties[0].value.type'",
    ),
]


@pytest.mark.parametrize(("name", "schema", "message"), SCHEMA_RULES, ids=[s[0] for s in SCHEMA_RULES])
async def test_parameters_schema_keywords(sbx, name, schema, message) -> None:
    declaration = {"name": "f", "description": "", "parameters": schema}
    request = {"contents": [user("hi")], "tools": [{"functionDeclarations": [declaration]}]}
    error = assert_error(await sbx.gemini("gemini-2.5-flash", request), 400, "INVALID_ARGUMENT", message)
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


async def test_accepted_schema_spellings(sbx) -> None:
    json_schema = {
        "type": "object",
        "properties": {"a": {"type": ["string", "null"]}, "b": {"$ref": "#/$defs/B"}},
        "$defs": {"B": {"type": "integer"}},
        "additionalProperties": False,
    }
    openapi = {
        "type": "OBJECT",
        "properties": {"a": {"any_of": [{"type": "STRING"}, {"type": "INTEGER"}], "nullable": True}},
        "property_ordering": ["a"],
    }
    for declaration in (
        {"name": "f", "parametersJsonSchema": json_schema},
        {"name": "f", "parameters_json_schema": json_schema},
        {"name": "f", "parameters": openapi},
    ):
        request = {"contents": [user("call f")], "tools": [{"functionDeclarations": [declaration]}]}
        assert (await sbx.gemini("gemini-2.5-flash", request)).status == 200


async def test_unknown_fields_are_rejected(sbx) -> None:
    top = await sbx.gemini("gemini-2.5-flash", {"contents": [user("hi")], "temperature": 0.5})
    assert_error(top, 400, "INVALID_ARGUMENT", 'Unknown name "temperature": Cannot find field.')
    nested = await sbx.gemini("gemini-2.5-flash", {"contents": [user("hi")], "generationConfig": {"max_tokens": 5}})
    assert_error(nested, 400, "INVALID_ARGUMENT", "Unknown name \"max_tokens\" at 'generation_config'")


THINKING_RULES = [
    ("both", "gemini-2.5-flash", {"thinkingBudget": 1024, "thinkingLevel": "LOW"}, "only one of thinking budget"),
    ("level on 2.5", "gemini-2.5-flash", {"thinkingLevel": "LOW"}, "Thinking level is not supported"),
    ("budget on 3", "gemini-3-pro-preview", {"thinkingBudget": 1024}, "Thinking budget is not supported"),
    ("budget 0 on 2.5 pro", "gemini-2.5-pro", {"thinkingBudget": 0}, "Budget 0 is invalid"),
    ("medium on 3 pro", "gemini-3-pro-preview", {"thinkingLevel": "MEDIUM"}, "Thinking level MEDIUM is not supported"),
    ("thinking on 2.0", "gemini-2.0-flash", {"includeThoughts": True}, "Thinking is not supported"),
]


@pytest.mark.parametrize(("name", "model", "config", "message"), THINKING_RULES, ids=[t[0] for t in THINKING_RULES])
async def test_thinking_config_rules(sbx, name, model, config, message) -> None:
    request = {"contents": [user("hi")], "generationConfig": {"thinkingConfig": config}}
    assert_error(await sbx.gemini(model, request), 400, "INVALID_ARGUMENT", message)


@pytest.mark.parametrize(
    ("model", "config"),
    [
        ("gemini-3-flash-preview", {"thinkingLevel": "medium"}),
        ("gemini-3-pro-preview", {"thinking_level": "low", "include_thoughts": True}),
        ("gemini-2.5-flash", {"thinkingBudget": 0}),
        ("gemini-2.5-pro", {"thinkingBudget": -1, "includeThoughts": True}),
    ],
)
async def test_valid_thinking_configs(sbx, model, config) -> None:
    request = {"contents": [user("hi")], "generationConfig": {"thinkingConfig": config}}
    assert (await sbx.gemini(model, request)).status == 200


async def gemini3_call(sbx, model: str = "gemini-3-flash-preview") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    contents = [user("Call get_weather for Oslo")]
    reply = (await sbx.gemini(model, body(contents))).json()
    model_turn = reply["candidates"][0]["content"]
    assert "thoughtSignature" in model_turn["parts"][0]
    return contents, model_turn


async def test_gemini3_signature_round_trip(sbx) -> None:
    contents, model_turn = await gemini3_call(sbx)
    ok = await sbx.gemini("gemini-3-flash-preview", body([*contents, model_turn, response_turn()]))
    assert ok.status == 200, ok.text
    assert "3C" in ok.json()["candidates"][0]["content"]["parts"][0]["text"]


async def test_gemini3_signature_may_come_back_url_safe(sbx) -> None:
    contents, model_turn = await gemini3_call(sbx)
    raw = base64.b64decode(model_turn["parts"][0]["thoughtSignature"])
    model_turn["parts"][0]["thoughtSignature"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert (await sbx.gemini("gemini-3-flash-preview", body([*contents, model_turn, response_turn()]))).status == 200


async def test_gemini3_missing_signature_is_rejected(sbx) -> None:
    contents, model_turn = await gemini3_call(sbx)
    del model_turn["parts"][0]["thoughtSignature"]
    reply = await sbx.gemini("gemini-3-flash-preview", body([*contents, model_turn, response_turn()]))
    assert_error(reply, 400, "INVALID_ARGUMENT", "Function call is missing a thought_signature in functionCall parts.")
    assert "`default_api:get_weather`" in reply.json()["error"]["message"]
    model_turn["parts"][0]["thoughtSignature"] = "skip_thought_signature_validator"
    dummy = await sbx.gemini("gemini-3-flash-preview", body([*contents, model_turn, response_turn()]))
    assert dummy.status == 200


async def test_gemini3_tampered_signature_is_rejected(sbx) -> None:
    contents, model_turn = await gemini3_call(sbx)
    signature = model_turn["parts"][0]["thoughtSignature"]
    model_turn["parts"][0]["thoughtSignature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    )
    reply = await sbx.gemini("gemini-3-flash-preview", body([*contents, model_turn, response_turn()]))
    assert_error(reply, 400, "INVALID_ARGUMENT", "Corrupted thought signature.")


async def test_signature_rules_only_cover_the_current_turn_and_gemini3(sbx) -> None:
    old_turn = [user("Call get_weather"), call_turn(), response_turn(), {"role": "model", "parts": [{"text": "3C"}]}]
    current = [*old_turn, user("And now?")]
    assert (await sbx.gemini("gemini-3-flash-preview", body(current))).status == 200
    assert (
        await sbx.gemini("gemini-2.5-flash", body([user("Call get_weather"), call_turn(), response_turn()]))
    ).status == 200
    unsigned = await sbx.gemini(
        "gemini-3-flash-preview", body([user("Call get_weather"), call_turn(), response_turn()])
    )
    assert unsigned.status == 400


async def test_recorded_requests_are_accepted(sbx, upstream) -> None:
    for name in (
        "gemini/nonstream_function_response_followup.json",
        "gemini/nonstream_implicit_cache_hit.json",
        "gemini/stream_function_response_followup.json",
        "gemini/nonstream_json_response_schema.json",
        "gemini/nonstream_json_response_json_schema.json",
        "gemini/stream_thinking.json",
        "gemini/stream_function_call_parallel_thinking.json",
        "gemini/nonstream_image_inline_input.json",
        "gemini/nonstream_safety_blocked.json",
    ):
        recorded = upstream(name)["request"]
        query = f"?{recorded['query']}" if recorded["query"] else ""
        reply = await sbx.post(recorded["path"] + query, recorded["body"], {"x-goog-api-key": "k"})
        assert reply.status == 200, (name, reply.text)


async def test_foreign_signatures_can_be_refused(start_sbx, upstream) -> None:
    from opentoken_sandbox.config import SandboxConfig

    strict = await start_sbx(SandboxConfig(accept_foreign_signatures=False))
    recorded = upstream("gemini/nonstream_function_response_followup.json")["request"]
    reply = await strict.post(recorded["path"], recorded["body"], {"x-goog-api-key": "k"})
    assert_error(reply, 400, "INVALID_ARGUMENT", "Corrupted thought signature.")
