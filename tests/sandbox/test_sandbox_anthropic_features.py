"""Model-dependent and beta features of the simulated Messages API: thinking display, effort, output limits,
context management, cache TTLs, metadata, betas, count_tokens."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from support.anthropic_grammar import check_anthropic_grammar

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
CONTEXT_BETA = {**HEADERS, "anthropic-beta": "context-management-2025-06-27"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def ask(text: str, model: str = "claude-sonnet-4-6", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 4096, "messages": [{"role": "user", "content": text}], **extra}


def counted(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "stop_sequences", "metadata")}


@pytest.mark.parametrize(
    ("model", "snapshot"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
        ("claude-opus-4-5", "claude-opus-4-5-20251101"),
        ("claude-opus-4-1", "claude-opus-4-1-20250805"),
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("claude-opus-4-6", "claude-opus-4-6"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
    ],
)
async def test_aliases_answer_with_their_snapshot(sbx, model, snapshot) -> None:
    plain = await sbx.anthropic(ask("Hi", model))
    assert plain.status == 200 and plain.json()["model"] == snapshot
    streamed = (await sbx.anthropic(ask("Hi", model, stream=True))).anthropic_events()
    assert streamed[0][1]["message"]["model"] == snapshot


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (ask("Hi", "claude-opus-4-1", max_tokens=32001), "max_tokens: 32001 > 32000, which is the maximum allowed "
         "number of output tokens for claude-opus-4-1-20250805"),
        (ask("Hi", "claude-sonnet-4-5", max_tokens=64001), "for claude-sonnet-4-5-20250929"),
        (ask("Hi", "claude-sonnet-4-5", thinking={"type": "adaptive"}), "adaptive thinking is not supported on this model"),
        (ask("Hi", "claude-sonnet-4-5", output_config={"effort": "low"}), "This model does not support the effort parameter"),
        (ask("Hi", "claude-opus-4-5", output_config={"effort": "max"}), "This model does not support effort level 'max'."),
        (ask("Hi", "claude-opus-4-6", output_config={"effort": "xhigh"}), "does not support effort level 'xhigh'"),
        (ask("Hi", output_config={"effort": "extreme"}), "output_config.effort: Input should be 'low', 'medium'"),
        (ask("Hi", output_config={"verbosity": "low"}), "output_config.verbosity: Extra inputs are not permitted"),
        (ask("Hi", "claude-opus-4-7", thinking={"type": "enabled", "budget_tokens": 2048}),
         '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive"'),
        (ask("Hi", thinking={"type": "adaptive", "display": "full"}), "thinking.adaptive.display: Input should be 'summarized' or 'omitted'"),
        (ask("Hi", thinking={"type": "adaptive", "budget_tokens": 2048}), "thinking.adaptive.budget_tokens: Extra inputs are not permitted"),
        (ask("Hi", metadata={"user_id": "u", "session": "s"}), "metadata.session: Extra inputs are not permitted"),
        (ask("Hi", metadata={"user_id": 7}), "metadata.user_id: Input should be a valid string"),
    ],
)  # fmt: skip
async def test_model_and_feature_rules(sbx, body, message) -> None:
    reply = await sbx.anthropic(body)
    assert reply.status == 400, reply.text
    assert reply.json()["error"]["type"] == "invalid_request_error"
    assert message in reply.json()["error"]["message"]


async def test_output_limits_and_features_accepted_where_they_exist(sbx) -> None:
    for body in (
        ask("Hi", "claude-opus-4-6", max_tokens=128_000, output_config={"effort": "max"}),
        ask("Hi", "claude-opus-4-5", output_config={"effort": "low"}),
        ask("Hi", "claude-opus-4-7", thinking={"type": "adaptive"}, output_config={"effort": "xhigh"}),
        ask("Hi", "claude-sonnet-4-5", thinking={"type": "enabled", "budget_tokens": 1024, "display": "omitted"}),
        ask("Hi", metadata={"user_id": json.dumps({"device_id": "abc", "session_id": "s1"})}),
    ):
        reply = await sbx.anthropic(body)
        assert reply.status == 200, (body, reply.text)


@pytest.mark.parametrize(
    ("thinking", "model", "shown"),
    [
        ({"type": "adaptive"}, "claude-sonnet-4-6", True),
        ({"type": "adaptive", "display": "summarized"}, "claude-opus-4-6", True),
        ({"type": "adaptive", "display": "omitted"}, "claude-opus-4-6", False),
        ({"type": "adaptive"}, "claude-opus-4-7", False),  # omitted is the default from Opus 4.7 on
        ({"type": "enabled", "budget_tokens": 1024, "display": "omitted"}, "claude-sonnet-4-5", False),
    ],
)
async def test_thinking_display(sbx, thinking, model, shown) -> None:
    body = ask("Explain tides", model, thinking=thinking)
    plain = (await sbx.anthropic(body)).json()
    block = plain["content"][0]
    assert block["type"] == "thinking" and block["signature"]
    assert bool(block["thinking"]) is shown
    assert plain["usage"]["output_tokens_details"]["thinking_tokens"] > 0  # billed whatever is shown
    events = (await sbx.anthropic({**body, "stream": True})).anthropic_events()
    check_anthropic_grammar(events)
    kinds = {d["delta"]["type"] for n, d in events if n == "content_block_delta" and d["index"] == 0}
    assert kinds == ({"thinking_delta", "signature_delta"} if shown else {"signature_delta"})
    folded = (await sbx.anthropic({**body, "stream": True})).anthropic_message()
    assert folded["usage"]["output_tokens"] == plain["usage"]["output_tokens"]


async def test_adaptive_thinking_at_low_effort_may_skip_thinking_and_tool_loops_need_none(sbx) -> None:
    body = ask(
        "Use get_weather for Oslo", tools=[WEATHER], thinking={"type": "adaptive"}, output_config={"effort": "low"}
    )
    reply = (await sbx.anthropic(body)).json()
    assert reply["content"][0]["type"] != "thinking"
    call = next(b for b in reply["content"] if b["type"] == "tool_use")
    result = {"type": "tool_result", "tool_use_id": call["id"], "content": "4C"}
    body["messages"] += [{"role": "assistant", "content": reply["content"]}, {"role": "user", "content": [result]}]
    assert (await sbx.anthropic(body)).status == 200  # adaptive: a tool turn without a thinking block is fine


async def test_unknown_betas_are_accepted(sbx) -> None:
    headers = {**HEADERS, "anthropic-beta": "made-up-feature-2099-01-01, interleaved-thinking-2025-05-14"}
    assert (await sbx.anthropic(ask("Hi"), headers=headers)).status == 200


async def test_structured_output_matches_the_schema(sbx) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 1}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    body = ask("Largest city?", output_config={"format": {"type": "json_schema", "schema": schema}, "effort": "high"})
    for stream in (False, True):
        reply = await sbx.anthropic({**body, "stream": stream})
        message = reply.anthropic_message() if stream else reply.json()
        jsonschema.validate(json.loads(message["content"][0]["text"]), schema)


def thinking_history(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        messages.append({"role": "user", "content": f"Question {n}"})
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"Reasoning about question {n}. " * 20, "signature": "c2ln" * 30},
                    {"type": "text", "text": f"Answer {n}"},
                ],
            }
        )
    messages.append({"role": "user", "content": "Last question"})
    return messages


async def test_clear_thinking_edits_are_applied_and_reported(sbx) -> None:
    management = {"edits": [{"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 1}}]}
    body = ask("x", thinking={"type": "adaptive"}, context_management=management)
    body["messages"] = thinking_history(3)
    reply = await sbx.anthropic(body, headers=CONTEXT_BETA)
    assert reply.status == 200, reply.text
    applied = reply.json()["context_management"]["applied_edits"]
    assert len(applied) == 1 and applied[0]["type"] == "clear_thinking_20251015"
    assert applied[0]["cleared_thinking_turns"] == 2 and applied[0]["cleared_input_tokens"] > 0
    kept = await sbx.anthropic(
        {**body, "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}},
        headers=CONTEXT_BETA,
    )
    cleared_usage, kept_usage = reply.json()["usage"]["input_tokens"], kept.json()["usage"]["input_tokens"]
    assert kept_usage - cleared_usage == applied[0]["cleared_input_tokens"]
    count = (await sbx.post("/v1/messages/count_tokens", counted(body), CONTEXT_BETA)).json()
    assert count == {"input_tokens": cleared_usage, "context_management": {"original_input_tokens": kept_usage}}
    stream = (await sbx.anthropic({**body, "stream": True}, headers=CONTEXT_BETA)).anthropic_events()
    assert stream[-2][1]["context_management"]["applied_edits"] == applied


def tool_history(uses: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather everywhere"}]
    for n in range(uses):
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": f"toolu_{n}", "name": "get_weather", "input": {"city": f"C{n}"}}
                ],
            }
        )
        result = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": f"Report {n}: " + "sunny " * 200}
        messages.append({"role": "user", "content": [result]})
    return messages


async def test_clear_tool_uses_after_the_trigger(sbx) -> None:
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 500},
        "keep": {"type": "tool_uses", "value": 2},
    }
    body = ask("x", tools=[WEATHER], context_management={"edits": [edit]})
    body["messages"] = tool_history(5)
    reply = (await sbx.anthropic(body, headers=CONTEXT_BETA)).json()
    (applied,) = reply["context_management"]["applied_edits"]
    assert applied["type"] == "clear_tool_uses_20250919" and applied["cleared_tool_uses"] == 3
    assert applied["cleared_input_tokens"] > 3 * 250
    assert "Report 4" in reply["content"][0]["text"]  # the kept, latest result is what the model answers from
    high = {**edit, "trigger": {"type": "input_tokens", "value": 1_000_000}}
    untouched = (await sbx.anthropic({**body, "context_management": {"edits": [high]}}, headers=CONTEXT_BETA)).json()
    assert untouched["context_management"] == {"applied_edits": []}
    assert untouched["usage"]["input_tokens"] - reply["usage"]["input_tokens"] == applied["cleared_input_tokens"]
    least = {**edit, "clear_at_least": {"type": "input_tokens", "value": 100_000}}
    too_little = (await sbx.anthropic({**body, "context_management": {"edits": [least]}}, headers=CONTEXT_BETA)).json()
    assert too_little["context_management"] == {"applied_edits": []}


@pytest.mark.parametrize(
    ("management", "message"),
    [
        ({"edits": [{"type": "clear_everything"}]}, "context_management.edits.0: Input tag 'clear_everything'"),
        ({"edits": [{"type": "clear_thinking_20251015"}]}, "requires `thinking` to be enabled or adaptive"),
        ({"edits": [{"type": "clear_tool_uses_20250919", "keep": {"type": "tool_uses", "value": -1}}]}, "keep.value"),
    ],
)
async def test_context_management_rules(sbx, management, message) -> None:
    reply = await sbx.anthropic(ask("Hi", context_management=management), headers=CONTEXT_BETA)
    assert reply.status == 400 and message in reply.json()["error"]["message"]


def cached(text: str, ttl: str | None) -> dict[str, Any]:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return {"type": "text", "text": text * 200, "cache_control": control}


async def test_cache_ttls_split_the_writes_and_a_second_request_reads(sbx) -> None:
    tool = {**WEATHER, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    body = ask("Question", tools=[tool], system=[cached("Manual. ", "1h"), cached("Notes. ", "5m")])
    first = (await sbx.anthropic(body)).json()["usage"]
    creation = first["cache_creation"]
    assert creation["ephemeral_1h_input_tokens"] > 0 and creation["ephemeral_5m_input_tokens"] > 0
    assert first["cache_creation_input_tokens"] == sum(creation.values())
    second = (await sbx.anthropic(body)).json()["usage"]
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    body["messages"][0]["content"] = [
        {"type": "text", "text": "Another question", "cache_control": {"type": "ephemeral"}}
    ]
    third = (await sbx.anthropic(body)).json()["usage"]
    assert third["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert (
        third["cache_creation"]["ephemeral_5m_input_tokens"] > 0
        and third["cache_creation"]["ephemeral_1h_input_tokens"] == 0
    )


async def test_cache_control_rules(sbx) -> None:
    wrong_order = ask("Q", system=[cached("A. ", None), cached("B. ", "1h")])
    reply = await sbx.anthropic(wrong_order)
    assert reply.json()["error"]["message"] == (
        "system.1.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control "
        "block. Note that blocks are processed in the following order: `tools`, `system`, `messages`."
    )
    five = ask("Q", system=[cached(f"{n}. ", None) for n in range(5)])
    assert (await sbx.anthropic(five)).json()["error"]["message"] == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )
    bad_ttl = ask("Q", system=[cached("A. ", "10m")])
    assert "ttl: Input should be '5m' or '1h'" in (await sbx.anthropic(bad_ttl)).json()["error"]["message"]


async def test_large_tool_lists_and_schemas(sbx) -> None:
    tools = [
        {
            "name": f"tool_{n}",
            "description": "A tool. " * 50,
            "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {f"field_{k}": {"type": "string", "description": "x" * 40} for k in range(20)},
                "required": ["field_0"],
                "additionalProperties": False,
            },
        }
        for n in range(60)
    ]
    reply = await sbx.anthropic(ask("Use tool_42 please", tools=tools, stream=True))
    assert reply.status == 200, reply.text
    message = reply.anthropic_message()
    call = next(b for b in message["content"] if b["type"] == "tool_use")
    assert call["name"] == "tool_42" and "field_0" in call["input"]
    assert message["usage"]["input_tokens"] > 60 * 300


async def test_count_tokens_rules_and_consistency(sbx) -> None:
    body = ask("How many tokens?", system="Be brief.", tools=[WEATHER], thinking={"type": "adaptive"})
    usage = (await sbx.anthropic(body)).json()["usage"]
    count = await sbx.post("/v1/messages/count_tokens", counted(body), HEADERS)
    assert count.status == 200 and count.json() == {"input_tokens": usage["input_tokens"]}
    with_max = await sbx.post("/v1/messages/count_tokens", body, HEADERS)
    assert with_max.json()["error"]["message"] == "max_tokens: Extra inputs are not permitted"
    unknown = await sbx.post("/v1/messages/count_tokens", {**counted(body), "model": "gpt-4o"}, HEADERS)
    assert unknown.status == 404 and unknown.json()["error"]["type"] == "not_found_error"
    no_key = await sbx.post("/v1/messages/count_tokens", counted(body), {"anthropic-version": "2023-06-01"})
    assert no_key.status == 401
    broken = {**counted(body), "messages": [{"role": "user", "content": ""}]}
    assert (await sbx.post("/v1/messages/count_tokens", broken, HEADERS)).status == 400
    faulted = await sbx.post("/v1/messages/count_tokens", counted(body), {**HEADERS, "x-sandbox-fault": "status=529"})
    assert faulted.status == 529 and faulted.json()["error"]["type"] == "overloaded_error"
