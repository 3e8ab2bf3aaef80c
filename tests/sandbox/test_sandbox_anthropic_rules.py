"""The simulated Anthropic API enforces the real request rules with real-shaped errors."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def base() -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}


def tool_history(result_id: str = "toolu_1") -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "What is the weather in Oslo?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": result_id, "content": "3C"}]},
    ]


def with_(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value

    return apply


THINKING = {"type": "enabled", "budget_tokens": 1024}

REJECTED: list[tuple[str, Callable[[dict[str, Any]], None], int, str, str]] = [
    ("no max_tokens", with_(max_tokens=None), 400, "invalid_request_error", "max_tokens: Field required"),
    ("no model", with_(model=None), 400, "invalid_request_error", "model: Field required"),
    ("max_tokens 0", with_(max_tokens=0), 400, "invalid_request_error", "greater than or equal to 1"),
    ("unknown model", with_(model="claude-does-not-exist-9"), 404, "not_found_error", "model: claude-does-not-exist-9"),
    ("not a claude model", with_(model="gpt-4o"), 404, "not_found_error", "model: gpt-4o"),
    ("no messages", with_(messages=[]), 400, "invalid_request_error", "at least one message"),
    (
        "system role",
        with_(messages=[{"role": "system", "content": "x"}]),
        400,
        "invalid_request_error",
        "messages.0.role: Input should be 'user' or 'assistant'",
    ),
    (
        "empty user content",
        with_(messages=[{"role": "user", "content": ""}]),
        400,
        "invalid_request_error",
        "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ),
    (
        "empty text block",
        with_(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        400,
        "invalid_request_error",
        "messages.0.content.0.text: text content blocks must be non-empty",
    ),
    (
        "message not an object",
        with_(messages=["Invalid content"]),
        400,
        "invalid_request_error",
        "messages.0: Input does not match the expected shape.",
    ),
    (
        "tool_use without result",
        with_(messages=[*tool_history()[:2], {"role": "user", "content": "thanks"}], tools=TOOLS),
        400,
        "invalid_request_error",
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
    ),
    (
        "unexpected tool_use_id",
        with_(messages=tool_history("toolu_other"), tools=TOOLS),
        400,
        "invalid_request_error",
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_other",
    ),
    (
        "tool_result after text",
        with_(
            messages=[
                *tool_history()[:2],
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "here"},
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"},
                    ],
                },
            ],
            tools=TOOLS,
        ),
        400,
        "invalid_request_error",
        "`tool_result` blocks must come first",
    ),
    (
        "tool blocks without tools",
        with_(messages=tool_history()),
        400,
        "invalid_request_error",
        "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    ),
    (
        "thinking budget too small",
        with_(thinking={"type": "enabled", "budget_tokens": 512}, max_tokens=4096),
        400,
        "invalid_request_error",
        "budget_tokens: Input should be greater than or equal to 1024",
    ),
    (
        "thinking budget not below max_tokens",
        with_(thinking=THINKING, max_tokens=1024),
        400,
        "invalid_request_error",
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
    (
        "thinking with temperature",
        with_(thinking=THINKING, max_tokens=4096, temperature=0.5),
        400,
        "invalid_request_error",
        "`temperature` may only be set to 1 when thinking is enabled",
    ),
    (
        "thinking with low top_p",
        with_(thinking=THINKING, max_tokens=4096, top_p=0.5),
        400,
        "invalid_request_error",
        "`top_p` must be greater than or equal to 0.95",
    ),
    (
        "thinking with forced tool",
        with_(thinking=THINKING, max_tokens=4096, tools=TOOLS, tool_choice={"type": "any"}),
        400,
        "invalid_request_error",
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    (
        "thinking tool loop without thinking block",
        with_(thinking=THINKING, max_tokens=4096, tools=TOOLS, messages=tool_history()),
        400,
        "invalid_request_error",
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`",
    ),
    (
        "bad image media type",
        with_(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}},
                    ],
                }
            ]
        ),
        400,
        "invalid_request_error",
        "messages.0.content.1.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
        "'image/gif' or 'image/webp'",
    ),
    (
        "whitespace stop sequence",
        with_(stop_sequences=["END", "  \n"]),
        400,
        "invalid_request_error",
        "stop_sequences.1: Stop sequences must contain non-whitespace characters.",
    ),
    ("unknown field", with_(n=2), 400, "invalid_request_error", "n: Extra inputs are not permitted"),
    ("temperature above 1", with_(temperature=1.5), 400, "invalid_request_error", "temperature: Input should be less"),
    (
        "forced unknown tool",
        with_(tools=TOOLS, tool_choice={"type": "tool", "name": "nope"}),
        400,
        "invalid_request_error",
        "Tool 'nope' not found",
    ),
]


@pytest.mark.parametrize(("name", "change", "status", "kind", "message"), REJECTED, ids=[r[0] for r in REJECTED])
async def test_rule_violation_gets_the_real_error(sbx, name, change, status, kind, message) -> None:
    body = base()
    change(body)
    reply = await sbx.anthropic(body)
    assert reply.status == status, reply.text
    error = reply.json()
    assert set(error) == {"type", "error", "request_id"}
    assert error["type"] == "error"
    assert error["error"]["type"] == kind
    assert message in error["error"]["message"]
    assert error["request_id"].startswith("req_")
    assert reply.headers["request-id"] == error["request_id"]
    assert reply.headers["x-should-retry"] == "false"
    assert reply.headers["Content-Type"].startswith("application/json")


ACCEPTED: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("unknown claude model", with_(model="claude-future-9")),
    ("prefill with empty final assistant", with_(messages=[*base()["messages"], {"role": "assistant", "content": ""}])),
    ("tool history with results", with_(messages=tool_history(), tools=TOOLS)),
    (
        "thinking with temperature 1 and top_p 0.95",
        with_(thinking=THINKING, max_tokens=4096, temperature=1, top_p=0.95),
    ),
    (
        "adaptive thinking",
        with_(model="claude-sonnet-4-6", thinking={"type": "adaptive"}, output_config={"effort": "high"}),
    ),
    (
        "system blocks with cache_control",
        with_(system=[{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]),
    ),
]


@pytest.mark.parametrize(("name", "change"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
async def test_valid_variants_are_accepted(sbx, name, change) -> None:
    body = base()
    change(body)
    reply = await sbx.anthropic(body)
    assert reply.status == 200, reply.text
    assert reply.json()["type"] == "message"


async def test_authentication_and_version_headers(sbx) -> None:
    missing = await sbx.anthropic(base(), headers={"anthropic-version": "2023-06-01"})
    assert missing.status == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    invalid = await sbx.anthropic(base(), headers={"x-api-key": "invalid-key", "anthropic-version": "2023-06-01"})
    assert invalid.status == 401
    assert invalid.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    no_version = await sbx.anthropic(base(), headers={"x-api-key": "k"})
    assert no_version.status == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]


async def test_query_string_is_ignored_and_bad_json_rejected(sbx) -> None:
    assert (await sbx.anthropic(base(), path="/v1/messages?beta=true")).status == 200
    broken = await sbx.anthropic(b"{not json")
    assert broken.status == 400
    assert broken.json()["error"]["type"] == "invalid_request_error"


async def test_recorded_requests_are_accepted(sbx, upstream) -> None:
    for name in (
        "anthropic/nonstream_tool_result_followup.json",
        "anthropic/nonstream_thinking_multiturn.json",
        "anthropic/nonstream_image_url_input.json",
        "anthropic/stream_image_base64_input.json",
        "anthropic/stream_tool_result_followup_no_args.json",
        "anthropic/nonstream_adaptive_thinking_effort_opus5.json",
    ):
        body = copy.deepcopy(upstream(name)["request"]["body"])
        reply = await sbx.anthropic(body)
        assert reply.status == 200, (name, reply.text)
