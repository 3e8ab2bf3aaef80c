"""The recorded Claude Code 2.1 request (48 KB, adaptive thinking with display "omitted", output_config,
context_management, a mid-conversation system message, twelve tools) answered as the real API answers it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from support.anthropic_grammar import check_anthropic_grammar
from support.fixtures import CLIENTS

RECORDED = json.loads((CLIENTS / "claude-code-2.1.332.request.json").read_text())
PATH = f"{RECORDED['path']}?{RECORDED['query']}"


def claude_code(model: str = "claude-opus-4-8") -> tuple[dict[str, Any], dict[str, str]]:
    body = copy.deepcopy(RECORDED["body"])
    body["model"] = model
    headers = {**RECORDED["headers"], "x-api-key": "test-key"}
    return body, headers


async def test_recorded_request_gets_a_correct_stream(sbx) -> None:
    body, headers = claude_code()
    reply = await sbx.post(PATH, body, headers)
    assert reply.status == 200, reply.text
    assert reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = reply.anthropic_events()
    check_anthropic_grammar(events)
    message = reply.anthropic_message()
    assert message["model"] == "claude-opus-4-8"
    thinking, text = message["content"][0], message["content"][1]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "" and thinking["signature"]
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert deltas == ["signature_delta"], "display omitted streams the signature only"
    assert text["type"] == "text" and text["text"].startswith("Sandbox reply")
    assert message["stop_reason"] == "end_turn"
    usage = message["usage"]
    assert usage["output_tokens_details"]["thinking_tokens"] > 0
    assert usage["output_tokens"] > usage["output_tokens_details"]["thinking_tokens"]
    assert usage["cache_creation_input_tokens"] > 10_000  # 48 KB of tools and prompt, written to the 5m cache
    assert usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": usage["cache_creation_input_tokens"],
        "ephemeral_1h_input_tokens": 0,
    }
    assert message["context_management"] == {"applied_edits": []}  # keep "all": nothing cleared


async def test_second_identical_request_reads_the_cache(sbx) -> None:
    body, headers = claude_code()
    first = (await sbx.post(PATH, body, headers)).anthropic_message()["usage"]
    second = (await sbx.post(PATH, body, headers)).anthropic_message()["usage"]
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0


async def test_omitted_thinking_round_trips_in_a_tool_loop(sbx) -> None:
    body, headers = claude_code()
    body["stream"] = False
    body["messages"][0]["content"][1]["text"] = "Use Read on /tmp/notes.txt"
    first = await sbx.post(PATH, body, headers)
    assert first.status == 200, first.text
    content = first.json()["content"]
    assert content[0]["type"] == "thinking" and content[0]["thinking"] == ""
    call = next(b for b in content if b["type"] == "tool_use")
    assert call["name"] == "Read"
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": "line one"}
    body["messages"] += [{"role": "assistant", "content": content}, {"role": "user", "content": [result]}]
    second = await sbx.post(PATH, body, headers)
    assert second.status == 200, second.text
    assert "line one" in "".join(b.get("text", "") for b in second.json()["content"])
    content[0]["signature"] = content[0]["signature"][:-6] + "AAAAAA"
    tampered = await sbx.post(PATH, body, headers)
    assert tampered.status == 400 and "Invalid `signature`" in tampered.json()["error"]["message"]


async def test_count_tokens_matches_the_messages_usage(sbx) -> None:
    body, headers = claude_code()
    usage = (await sbx.post(PATH, body, headers)).anthropic_message()["usage"]
    counted_body = {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "metadata")}
    counted = await sbx.post("/v1/messages/count_tokens?beta=true", counted_body, headers)
    assert counted.status == 200, counted.text
    total = usage["input_tokens"] + usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"]
    assert counted.json() == {"input_tokens": total, "context_management": {"original_input_tokens": total}}


@pytest.mark.parametrize(
    ("model", "change", "message"),
    [
        ("claude-opus-4-6", None, "messages.1.role: Input should be 'user' or 'assistant'"),
        ("claude-sonnet-4-5", "no system message", "adaptive thinking is not supported on this model"),
        ("claude-haiku-4-5", "budget thinking", "This model does not support the effort parameter"),
        ("claude-opus-4-8", "no context beta", "context_management: Extra inputs are not permitted"),
    ],
)
async def test_what_older_models_refuse(sbx, model, change, message) -> None:
    """Claude Code sends features of the newest models; older ones refuse them as the real API does."""
    body, headers = claude_code(model)
    if change in ("no system message", "budget thinking"):
        body["messages"] = body["messages"][:1]
    if change == "budget thinking":
        body["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    if change == "no context beta":
        headers["anthropic-beta"] = ",".join(
            b for b in headers["anthropic-beta"].split(",") if not b.startswith("context-management")
        )
    reply = await sbx.post(PATH, body, headers)
    assert reply.status == 400, reply.text
    assert reply.json()["error"] == {"type": "invalid_request_error", "message": message}


async def test_adapted_request_works_on_an_older_model(sbx) -> None:
    """What a gateway must send to claude-sonnet-4-5: no system message, budget thinking, no effort."""
    body, headers = claude_code("claude-sonnet-4-5")
    body["messages"] = body["messages"][:1]
    body["thinking"] = {"type": "enabled", "budget_tokens": 2048, "display": "omitted"}
    body["output_config"] = {}
    reply = await sbx.post(PATH, body, headers)
    assert reply.status == 200, reply.text
    message = reply.anthropic_message()
    assert message["model"] == "claude-sonnet-4-5-20250929"
    assert message["content"][0]["thinking"] == ""
