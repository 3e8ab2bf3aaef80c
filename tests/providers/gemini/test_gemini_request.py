"""Requests built from canonical inputs have the shape of the recorded Gemini requests.

Recorded bodies come from the google-genai SDK and pydantic-ai, which sometimes write snake_case keys
(``thinking_budget``, ``parameters_json_schema``) and URL-safe base64; both are normalised before comparing.
Not compared: ``responseModalities`` (we rely on the TEXT default), ``safetySettings`` and ``cachedContent``
(no OpenAI equivalent), and the role Google's SDK puts on ``systemInstruction``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, ImagePart, Message, Part, ResponseFormat, TextPart, Tool, ToolChoice
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini import PROVIDER

Load = Callable[[str], dict[str, Any]]
GetModel = Callable[[str], ModelInfo]
Split = Callable[[str], list[SSEEvent]]


def camel(key: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)


def std_b64(text: str) -> str:
    return text.replace("-", "+").replace("_", "/")


def normalise(value: Any, data_keys: frozenset[str] = frozenset({"args", "response"})) -> Any:
    """camelCase protocol keys (not inside function args/results), standard base64 for data and signatures."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = camel(key)
        if name in data_keys:
            out[name] = item
        elif name in ("data", "thoughtSignature") and isinstance(item, str):
            out[name] = std_b64(item)
        else:
            out[name] = normalise(item)
    return out


def openapi_to_json_schema(schema: Any) -> Any:
    """The recorded OpenAPI-subset ``parameters``/``responseSchema`` written as JSON Schema."""
    if isinstance(schema, list):
        return [openapi_to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {k: openapi_to_json_schema(v) for k, v in value.items()}
        elif key == "type":
            out[key] = value.lower()
        elif key == "required" or camel(key) == "propertyOrdering":
            out[camel(key)] = value
        else:
            out[camel(key)] = openapi_to_json_schema(value)
    return out


def recorded_tools(body: dict[str, Any]) -> tuple[Tool, ...]:
    tools = []
    for group in body.get("tools", []):
        for decl in normalise(group)["functionDeclarations"]:
            params = decl.get("parametersJsonSchema")
            if params is None and "parameters" in decl:
                params = openapi_to_json_schema(decl["parameters"])
            tools.append(Tool(name=decl["name"], description=decl.get("description"), parameters=params))
    return tuple(tools)


def canonical_messages(body: dict[str, Any]) -> tuple[Message, ...]:
    """System and user turns of a recorded body as canonical messages (text and inline images only)."""
    messages = [
        Message(role="system", parts=(TextPart(p["text"]),)) for p in body.get("systemInstruction", {}).get("parts", [])
    ]
    for content in normalise(body["contents"]):
        assert content["role"] == "user"
        parts: list[Part] = []
        for part in content["parts"]:
            if "text" in part:
                parts.append(TextPart(part["text"]))
            else:
                inline = part["inlineData"]
                parts.append(ImagePart(data=inline["data"], media_type=inline["mimeType"]))
        messages.append(Message(role="user", parts=tuple(parts)))
    return tuple(messages)


# fixture -> (catalog model, extra ChatRequest fields that reproduce the recorded generationConfig)
SIMPLE: dict[str, tuple[str, dict[str, Any]]] = {
    "nonstream_text": ("google/gemini-2.5-flash", {}),
    "nonstream_cached_content": ("google/gemini-2.5-flash", {}),
    "nonstream_image_inline_input": ("google/gemini-2.5-flash", {}),
    "nonstream_max_tokens": ("google/gemini-2.5-flash", {"max_tokens": 5, "reasoning_effort": "none"}),
    "nonstream_max_tokens_thinking_no_parts": ("google/gemini-2.5-pro", {"max_tokens": 5}),
    "nonstream_safety_blocked": ("google/gemini-2.5-flash", {}),
    "nonstream_thinking": ("google/gemini-3-pro", {"reasoning_effort": "high"}),
    "nonstream_function_call_parallel_gemini20": ("google/gemini-2.5-flash", {}),
    "nonstream_json_response_json_schema": ("google/gemini-2.5-flash", {}),
    "nonstream_json_response_schema": ("google/gemini-2.5-flash", {}),
    "error_404_model_not_found": ("google/gemini-3-flash", {}),
    "stream_text": ("google/gemini-2.5-flash", {}),
    "stream_text_gemini20": ("google/gemini-2.5-flash", {"temperature": 0.0}),
    "stream_function_call": ("google/gemini-3-pro", {}),
    "stream_function_call_parallel_gemini20": ("google/gemini-2.5-flash", {}),
    "stream_function_call_single_chunk_gemini20": ("google/gemini-2.5-flash", {}),
    "stream_function_call_parallel_thinking": ("google/gemini-3-flash", {"reasoning_effort": "low"}),
    "stream_image_inline_input": ("google/gemini-2.5-flash", {}),
    "stream_thinking": ("google/gemini-2.5-flash", {"reasoning_effort": "minimal"}),
    "stream_thinking_gemini25pro": ("google/gemini-2.5-pro", {"reasoning_effort": "medium"}),
}
# requests with conversation history are rebuilt in test_gemini_replay.py; these two are special cases:
# the Vertex one (other host, multimodal functionResponse) and one whose only user text is empty.
ELSEWHERE = {
    "nonstream_function_response_followup",
    "nonstream_implicit_cache_hit",
    "nonstream_thinking_multiturn",
    "stream_function_response_followup",
    "error_400_invalid_argument_vertex",
    "nonstream_function_call_parallel",
}


def test_every_fixture_request_is_covered(gemini_dir: Any) -> None:
    assert {p.stem for p in gemini_dir.glob("*.json")} == set(SIMPLE) | ELSEWHERE


def _response_format(body: dict[str, Any]) -> ResponseFormat | None:
    config = normalise(body.get("generationConfig", {}))
    if "responseJsonSchema" in config:
        return ResponseFormat(type="json_schema", name="out", schema=config["responseJsonSchema"])
    if "responseSchema" in config:
        return ResponseFormat(type="json_schema", name="out", schema=openapi_to_json_schema(config["responseSchema"]))
    return None


def _tool_choice(body: dict[str, Any]) -> ToolChoice | None:
    mode = normalise(body).get("toolConfig", {}).get("functionCallingConfig", {}).get("mode")
    return {"ANY": ToolChoice("required"), "AUTO": ToolChoice("auto"), None: None}[mode]


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_request_has_recorded_shape(name: str, gemini_fixture: Load, model: GetModel, sse: Split) -> None:
    fixture = gemini_fixture(name)
    recorded = fixture["request"]
    body = recorded["body"]
    model_id, extra = SIMPLE[name]
    upstream = re.search(r"models/([^:]+):", recorded["path"]).group(1)  # type: ignore[union-attr]
    info = replace(model(model_id), upstream_model=upstream)
    request = ChatRequest(
        model=model_id,
        messages=canonical_messages(body),
        stream=recorded["query"] == "alt=sse",
        tools=recorded_tools(body),
        tool_choice=_tool_choice(body),
        response_format=_response_format(body),
        **extra,
    )
    built = PROVIDER.build_request(request, info)
    ours = json.loads(built.body)

    assert built.path == recorded["path"] + (f"?{recorded['query']}" if recorded["query"] else "")
    assert built.stream is request.stream
    assert ours["contents"] == normalise(body["contents"])
    if "systemInstruction" in body:
        assert ours["systemInstruction"]["parts"] == body["systemInstruction"]["parts"]
    else:
        assert "systemInstruction" not in ours
    _check_generation_config(ours["generationConfig"], normalise(body.get("generationConfig", {})), info)
    _check_tools(ours, body, fixture["response"], sse)


def _check_generation_config(ours: dict[str, Any], recorded: dict[str, Any], info: ModelInfo) -> None:
    for key in ("responseModalities", "responseSchema", "responseJsonSchema"):
        recorded.pop(key, None)
    thinking = recorded.pop("thinkingConfig", None)
    for key, value in recorded.items():
        assert ours[key] == value, key
    if thinking is None:
        assert "thinkingConfig" not in ours
    else:
        for key, value in thinking.items():
            mine = ours["thinkingConfig"][key]
            assert (mine.lower() == value.lower()) if isinstance(value, str) else mine == value, key
        assert not {"thinkingBudget", "thinkingLevel"} <= set(ours["thinkingConfig"])
    if "maxOutputTokens" not in recorded:
        assert ours["maxOutputTokens"] == info.default_max_tokens


def _check_tools(ours: dict[str, Any], body: dict[str, Any], response: dict[str, Any], split_sse: Split) -> None:
    if "tools" not in body:
        assert "tools" not in ours
        return
    declared = [d for group in normalise(body["tools"]) for d in group["functionDeclarations"]]
    mine = ours["tools"][0]["functionDeclarations"]
    assert [(d["name"], d.get("description")) for d in mine] == [(d["name"], d.get("description")) for d in declared]
    for decl, recorded_decl in zip(mine, declared, strict=True):
        if "parameters" in recorded_decl:  # OpenAPI subset: ours is the same schema in JSON Schema spelling
            expected = openapi_to_json_schema(recorded_decl["parameters"])
            assert decl.get("parametersJsonSchema", {"type": "object", "properties": {}}) == expected
    if "toolConfig" in body:
        assert (
            ours["toolConfig"]["functionCallingConfig"]["mode"]
            == normalise(body)["toolConfig"]["functionCallingConfig"]["mode"]
        )
    schemas = {d["name"]: d.get("parametersJsonSchema", {"type": "object"}) for d in mine}
    calls = _recorded_calls(response, split_sse)
    for call in calls:  # the arguments Gemini actually produced fit the schema we send
        jsonschema.validate(call.get("args", {}), schemas[call["name"]])
    assert len(calls) == json.dumps(response).count("functionCall")


def _recorded_calls(response: dict[str, Any], split_sse: Split) -> list[dict[str, Any]]:
    if "body_text" in response:
        replies = [json.loads(e.data) for e in split_sse(response["body_text"])]
    else:
        replies = [response["body"]]
    return [
        part["functionCall"]
        for reply in replies
        for cand in reply.get("candidates", [])
        for part in cand.get("content", {}).get("parts", [])
        if "functionCall" in part
    ]


def test_key_is_never_in_the_url(model: GetModel) -> None:
    request = ChatRequest(model="google/gemini-2.5-flash", messages=(Message("user", (TextPart("hi"),)),), stream=True)
    built = PROVIDER.build_request(request, model("google/gemini-2.5-flash"))
    assert built.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert "key" not in built.path and "x-goog-api-key" not in built.headers
    assert PROVIDER.auth_headers("secret-key") == {"x-goog-api-key": "secret-key"}


def test_provider_identity() -> None:
    assert PROVIDER.name == "google"
    assert PROVIDER.default_base_url == "https://generativelanguage.googleapis.com"
    assert PROVIDER.key_env_vars == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert PROVIDER.fetches_image_urls is False
