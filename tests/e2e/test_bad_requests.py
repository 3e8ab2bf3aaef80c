"""Malformed requests: each gets a 4xx OpenAI error naming the offending ``param``, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest

from support.openai_schema import validate
from support.servers import Gateway

M = "anthropic/claude-sonnet-4-6"
U = [{"role": "user", "content": "hi"}]
PNG = "data:image/png;base64,iVBORw0KGgo="


def body(**over: Any) -> dict[str, Any]:
    return {"model": M, "messages": U, **over}


CASES: list[tuple[str, Any, int, str | None]] = [
    ("missing model", {"messages": U}, 400, "model"),
    ("missing messages", {"model": M}, 400, "messages"),
    ("empty messages", body(messages=[]), 400, "messages"),
    ("messages not a list", body(messages="hi"), 400, "messages"),
    ("model not a string", body(model=5), 400, "model"),
    ("unknown role", body(messages=[{"role": "robot", "content": "x"}]), 400, "messages[0].role"),
    (
        "unknown role at 2",
        body(messages=[*U, {"role": "assistant", "content": "a"}, {"role": "x", "content": "b"}]),
        400,
        "messages[2].role",
    ),
    ("missing content", body(messages=[{"role": "user"}]), 400, "messages[0].content"),
    ("content wrong type", body(messages=[{"role": "user", "content": 5}]), 400, "messages[0].content"),
    ("empty content array", body(messages=[{"role": "user", "content": []}]), 400, "messages[0].content"),
    (
        "unknown part type",
        body(messages=[{"role": "user", "content": [{"type": "video", "video": {}}]}]),
        400,
        "messages[0].content[0].type",
    ),
    (
        "text part without text",
        body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        400,
        "messages[0].content[0].text",
    ),
    (
        "image url not a string",
        body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 1}}]}]),
        400,
        "messages[0].content[0].image_url.url",
    ),
    (
        "image url bad scheme",
        body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]),
        400,
        "messages[0].content[0].image_url.url",
    ),
    (
        "image data url not base64",
        body(
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}
            ]
        ),
        400,
        "messages[0].content[0].image_url.url",
    ),
    (
        "image data url not image",
        body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}],
                }
            ]
        ),
        400,
        "messages[0].content[0].image_url.url",
    ),
    (
        "image bad detail",
        body(
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG, "detail": "ultra"}}]}
            ]
        ),
        400,
        "messages[0].content[0].image_url.detail",
    ),
    ("tool message without id", body(messages=[*U, {"role": "tool", "content": "x"}]), 400, "messages[1].tool_call_id"),
    ("assistant without content", body(messages=[*U, {"role": "assistant"}, *U]), 400, "messages[1].content"),
    (
        "tool call args not json",
        body(
            messages=[
                *U,
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
                },
            ]
        ),
        400,
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "tool call args array",
        body(
            messages=[
                *U,
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
                },
            ]
        ),
        400,
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        "duplicate tool call ids",
        body(
            messages=[
                *U,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "f", "arguments": "{}"}},
                        {"id": "c1", "function": {"name": "f", "arguments": "{}"}},
                    ],
                },
            ]
        ),
        400,
        "messages[1].tool_calls[1].id",
    ),
    ("temperature too high", body(temperature=2.5), 400, "temperature"),
    ("temperature wrong type", body(temperature="hot"), 400, "temperature"),
    ("top_p out of range", body(top_p=1.5), 400, "top_p"),
    ("max_tokens zero", body(max_tokens=0), 400, "max_tokens"),
    ("max_completion_tokens negative", body(max_completion_tokens=-1), 400, "max_completion_tokens"),
    ("n zero", body(n=0), 400, "n"),
    ("n > 1 on Claude", body(n=2), 400, "n"),
    ("stop too many", body(stop=["a", "b", "c", "d", "e"]), 400, "stop"),
    ("stop empty string", body(stop=[""]), 400, "stop[0]"),
    ("stop whitespace only", body(stop=["  "]), 400, "stop"),
    (
        "bad tool name",
        body(tools=[{"type": "function", "function": {"name": "has space"}}]),
        400,
        "tools[0].function.name",
    ),
    (
        "tool parameters not object schema",
        body(tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]),
        400,
        "tools[0].function.parameters",
    ),
    (
        "duplicate tools",
        body(tools=[{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]),
        400,
        "tools[1].function.name",
    ),
    ("unknown tool type", body(tools=[{"type": "magic", "x": 1}]), 400, "tools[0].type"),
    (
        "tool_choice names unknown tool",
        body(
            tools=[{"type": "function", "function": {"name": "f"}}],
            tool_choice={"type": "function", "function": {"name": "g"}},
        ),
        400,
        "tool_choice",
    ),
    ("tool_choice bad string", body(tool_choice="sometimes"), 400, "tool_choice"),
    ("required without tools", body(tool_choice="required"), 400, "tool_choice"),
    ("bad response_format", body(response_format={"type": "yaml"}), 400, "response_format.type"),
    (
        "json_schema without name",
        body(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
        400,
        "response_format.json_schema.name",
    ),
    ("bad reasoning_effort", body(reasoning_effort="extreme"), 400, "reasoning_effort"),
    ("stream_options without stream", body(stream_options={"include_usage": True}), 400, "stream_options"),
    ("stream not bool", body(stream="yes"), 400, "stream"),
    ("top_logprobs without logprobs", body(top_logprobs=3), 400, "top_logprobs"),
    ("presence_penalty out of range", body(presence_penalty=3), 400, "presence_penalty"),
    ("unregistered model", body(model="anthropic/claude-sonet-4-5"), 400, "model"),
    (
        "file without data",
        body(messages=[{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]}]),
        400,
        "messages[0].content[0].file.file_data",
    ),
]


@pytest.mark.parametrize(("name", "payload", "status", "param"), CASES, ids=[c[0] for c in CASES])
def test_malformed_request_is_a_clear_4xx(
    gateway: Gateway, name: str, payload: Any, status: int, param: str | None
) -> None:
    r = httpx.post(
        gateway.v1 + "/chat/completions", json=payload, headers={"Authorization": f"Bearer {gateway.key}"}, timeout=30
    )
    assert r.status_code == status, r.text
    err = r.json()
    validate("ErrorResponse", err)
    assert err["error"]["param"] == param, err
    assert err["error"]["message"]
    assert r.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1,2]", b'"just a string"', b""],
    ids=["broken json", "array body", "string body", "empty body"],
)
def test_unparseable_body_is_400(gateway: Gateway, raw: bytes) -> None:
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        content=raw,
        headers={"Authorization": f"Bearer {gateway.key}", "content-type": "application/json"},
    )
    assert r.status_code == 400
    validate("ErrorResponse", r.json())
    assert r.json()["error"]["code"] == "invalid_json"


def test_huge_body_is_413(gateway: Gateway) -> None:
    big = json.dumps(body(messages=[{"role": "user", "content": "x" * (33 * 1024 * 1024)}])).encode()
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        content=big,
        headers={"Authorization": f"Bearer {gateway.key}", "content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413
    validate("ErrorResponse", r.json())
    assert r.json()["error"]["param"] == "messages"


def test_unregistered_model_names_the_closest_ids_and_makes_no_upstream_call(
    gateway: Gateway, sandbox: httpx.Client
) -> None:
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        json=body(model="google/gemini-3-flsh"),
        headers={"Authorization": f"Bearer {gateway.key}"},
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "model_not_found"
    assert "google/gemini-3-flash" in err["message"]
    assert sandbox.get("/_sandbox/requests").json() == {"requests": []}


def test_unknown_fields_are_accepted_and_reported(gateway: Gateway) -> None:
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        json=body(fancy_new_param=1, store=True),
        headers={"Authorization": f"Bearer {gateway.key}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    ignored = r.headers["x-opentoken-ignored-params"].split(",")
    assert "fancy_new_param" in ignored and "store" in ignored
