"""Recorded non-streaming Anthropic replies -> canonical ChatResult (every nonstream_* fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import UpstreamOverloaded, UpstreamProtocolError
from opentoken.core.result import Stop, TextBlock, ThinkingBlock, ToolCallBlock, Usage
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.anthropic.response import STOP_REASONS, parse_response, stop_of
from support.catalog import entry
from support.fixtures import ANTHROPIC
from support.views import view

FIXTURES = ANTHROPIC


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def _body(name: str) -> bytes:
    return json.dumps(_fixture(name)["response"]["body"]).encode()


@pytest.fixture(scope="module")
def model() -> ModelInfo:
    return entry(load_catalog(), "anthropic/claude-sonnet-4-5")


# file -> (id, upstream_model, finish_reason, usage, content start (None: content is None), reasoning start,
#          tool calls, replay block types)
EXPECTED: dict[str, tuple[Any, ...]] = {
    "nonstream_text.json": (
        "msg_011CeEgv4QcC6bo2wwJgepD6",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(8, 0, 0, 16, 0),
        "Hello! \U0001f44b How can I help you today?",
        None,
        [],
        [],
    ),
    "nonstream_stop_sequence.json": (
        "msg_01376yZQxHcw9pER2Ab2SvQb",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(32, 0, 0, 5, 0),
        "The beautiful city of ",
        None,
        [],
        [],
    ),
    "nonstream_tool_use_parallel.json": (
        "msg_011S3wxtqL5CVescWqS3zeg2",
        "claude-haiku-4-5-20251001",
        "tool_calls",
        Usage(423, 0, 0, 202, 0),
        "I'll help you find out who is the youngest",
        None,
        [
            ("toolu_0167cfEnoQaPviGdVXA95zcu", "retrieve_entity_info", {"name": "Alice"}),
            ("toolu_01EEe2V5HD1Ac4rKiUR4HD2T", "retrieve_entity_info", {"name": "Bob"}),
            ("toolu_01XFyAjstT3966qvRynZyVPo", "retrieve_entity_info", {"name": "Charlie"}),
            ("toolu_013mnQZbgtK2oe3Mo3XKJsx3", "retrieve_entity_info", {"name": "Daisy"}),
        ],
        [],
    ),
    "nonstream_tool_result_followup.json": (
        "msg_01JVqZPgDwmnyb2kKC3MwCVf",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(771, 0, 0, 77, 0),
        "Based on the retrieved information",
        None,
        [],
        [],
    ),
    "nonstream_image_url_input.json": (
        "msg_01TQMY6yjmVxHiAh8qEdausZ",
        "claude-haiku-4-5-20251001",
        "stop",
        Usage(296, 0, 0, 91, 0),
        "This is a potato.",
        None,
        [],
        [],
    ),
    "nonstream_thinking.json": (
        "msg_01TGA8SWcHTTn5674cmicbnJ",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(43, 0, 0, 321, 0),
        "Here's how to cross the street safely:",
        "This is a straightforward question about pedestrian safety.",
        [],
        ["thinking"],
    ),
    "nonstream_thinking_multiturn.json": (
        "msg_016Vg1RgKdfLjsCLybGjd8Xo",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(354, 0, 0, 525, 0),
        "# How to Cross a River",
        "This is an interesting analogy question.",
        [],
        ["thinking"],
    ),
    "nonstream_thinking_redacted.json": (
        "msg_01TbZ1ZKNMPq28AgBLyLX3c4",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(92, 0, 0, 196, 0),
        "I notice that your message appears",
        None,
        [],
        ["redacted_thinking"],
    ),
    "nonstream_adaptive_thinking_opus46.json": (
        "msg_01UwaEfFWx4eWMCsjmVZsjaY",
        "claude-opus-4-6",
        "stop",
        Usage(31, 0, 0, 30, 0),
        "2 + 2 = **4**",
        "4",
        [],
        ["thinking"],
    ),
    "nonstream_adaptive_thinking_effort_opus5.json": (
        "msg_011CdMGQkaWBowzKjDD9nzPh",
        "claude-opus-5",
        "stop",
        Usage(13, 0, 0, 44, 33),
        "2 + 2 = 4",
        "This is a straightforward arithmetic problem",
        [],
        ["thinking"],
    ),
    "nonstream_structured_output.json": (
        "msg_01Hfgh959WDWjL5jkM2FQXTL",
        "claude-sonnet-4-5-20250929",
        "stop",
        Usage(196, 0, 0, 19, 0),
        '{"city":"London","country":"United Kingdom","population":9002488}',
        None,
        [],
        [],
    ),
    "nonstream_max_tokens_cache_write.json": (
        "msg_01BPHq1oWdmASZ4LpYgQ73U1",
        "claude-sonnet-4-20250514",
        "length",
        Usage(18, 0, 2055, 100, 0),
        "Here are the key principles for designing scalable systems:",
        None,
        [],
        [],
    ),
    "nonstream_max_tokens_cache_read.json": (
        "msg_01YUFu6WCB8ZHZBNCMemdJ2B",
        "claude-sonnet-4-20250514",
        "length",
        Usage(11, 2055, 0, 100, 0),
        "A **system** is an organized collection",
        None,
        [],
        [],
    ),
}


def test_every_nonstream_fixture_has_expectations() -> None:
    assert set(EXPECTED) == {p.name for p in FIXTURES.glob("nonstream_*.json")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_reply(name: str, model: ModelInfo) -> None:
    msg_id, upstream, finish, usage, content, reasoning, calls, replay_types = EXPECTED[name]
    result = PROVIDER.parse_response(_body(name), model)
    assert result.id == msg_id
    assert result.upstream_model == upstream
    assert result.usage == usage
    (choice,) = view(result).choices
    assert choice.index == 0
    assert choice.finish_reason == finish
    assert choice.content is not None and choice.content.startswith(content)
    if reasoning is None:
        assert choice.reasoning is None
    else:
        assert choice.reasoning is not None and choice.reasoning.startswith(reasoning)
        if len(reasoning) > 5:
            assert reasoning not in choice.content  # thinking never leaks into content
    assert [(c.id, c.name, json.loads(c.arguments)) for c in choice.tool_calls] == calls
    if replay_types:
        assert choice.replay is not None and choice.replay.provider == "anthropic"
        assert [b["type"] for b in json.loads(choice.replay.data)] == replay_types
    else:
        assert choice.replay is None


@pytest.mark.parametrize(
    "name", ["nonstream_thinking.json", "nonstream_thinking_redacted.json", "nonstream_adaptive_thinking_opus46.json"]
)
def test_replay_keeps_thinking_blocks_exactly(name: str, model: ModelInfo) -> None:
    recorded = _fixture(name)["response"]["body"]["content"]
    want = [b for b in recorded if b["type"] in ("thinking", "redacted_thinking")]
    choice = view(parse_response(_body(name), model)).choices[0]
    assert choice.replay is not None
    assert json.loads(choice.replay.data) == want


def test_whitespace_text_before_thinking_is_dropped(model: ModelInfo) -> None:
    # claude-opus-4-6 opens with a "\n\n" text block ahead of the thinking block
    recorded = _fixture("nonstream_adaptive_thinking_opus46.json")["response"]["body"]
    assert recorded["content"][0] == {"text": "\n\n", "type": "text"}
    choice = view(parse_response(json.dumps(recorded).encode(), model)).choices[0]
    assert choice.content == "2 + 2 = **4**"
    assert choice.reasoning == "4"


def _message(content: list[dict[str, Any]], stop_reason: str = "end_turn", **usage: Any) -> bytes:
    body = {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 7, **usage},
    }
    return json.dumps(body, ensure_ascii=False).encode()


def test_tool_calls_only_give_null_content(model: ModelInfo) -> None:
    body = _message([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}], "tool_use")
    choice = view(parse_response(body, model)).choices[0]
    assert choice.content is None
    assert choice.tool_calls[0].arguments == "{}"
    assert choice.finish_reason == "tool_calls"


def test_tool_input_text_is_kept_as_sent(model: ModelInfo) -> None:
    body = _message([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}], "tool_use")
    body = body.replace(b'"input": {}', b'"input": {"b":[1,{"c":"\\u00e9"}],"a":null}')
    choice = view(parse_response(body, model)).choices[0]
    assert choice.tool_calls[0].arguments == '{"b": [1, {"c": "\\u00e9"}], "a": null}'
    assert json.loads(choice.tool_calls[0].arguments) == {"b": [1, {"c": "é"}], "a": None}


def test_empty_reply_gives_empty_content(model: ModelInfo) -> None:
    choice = view(parse_response(_message([]), model)).choices[0]
    assert choice.content == ""
    assert choice.tool_calls == ()


def test_later_whitespace_text_is_kept(model: ModelInfo) -> None:
    content = [{"type": "text", "text": "a"}, {"type": "text", "text": "\n\n"}, {"type": "text", "text": "b"}]
    assert view(parse_response(_message(content), model)).choices[0].content == "a\n\nb"


def test_several_thinking_blocks_join_with_blank_line(model: ModelInfo) -> None:
    content: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "one", "signature": "s1"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"q": "é"}},
        {"type": "thinking", "thinking": "two", "signature": "s2"},
        {"type": "redacted_thinking", "data": "opaque"},
    ]
    choice = view(parse_response(_message(content, "tool_use"), model)).choices[0]
    assert choice.reasoning == "one\n\ntwo"
    assert choice.tool_calls[0].arguments == '{"q": "é"}'
    assert choice.replay is not None
    assert [b["type"] for b in json.loads(choice.replay.data)] == ["thinking", "thinking", "redacted_thinking"]


def test_usage_with_null_cache_fields(model: ModelInfo) -> None:
    body = _message([], cache_read_input_tokens=None, cache_creation_input_tokens=None)
    assert parse_response(body, model).usage == Usage(input_tokens=5, output_tokens=7)


@pytest.mark.parametrize(
    ("stop_reason", "canonical", "openai"),
    [
        ("end_turn", "end_turn", "stop"),
        ("stop_sequence", "stop_sequence", "stop"),
        ("pause_turn", "pause_turn", "stop"),
        ("max_tokens", "max_tokens", "length"),
        ("model_context_window_exceeded", "max_tokens", "length"),
        ("tool_use", "tool_use", "tool_calls"),
        ("refusal", "refusal", "content_filter"),
    ],
)
def test_stop_reason_table(stop_reason: str, canonical: str, openai: str, model: ModelInfo) -> None:
    assert STOP_REASONS[stop_reason] == canonical
    result = parse_response(_message([{"type": "text", "text": "x"}], stop_reason), model)
    assert result.candidates[0].stop == Stop(canonical, raw=stop_reason)
    assert view(result).choices[0].finish_reason == openai


def test_matched_stop_sequence_is_kept(model: ModelInfo) -> None:
    body = json.loads(_message([{"type": "text", "text": "x"}], "stop_sequence"))
    body["stop_sequence"] = "END"
    stop = parse_response(json.dumps(body).encode(), model).candidates[0].stop
    assert stop == Stop("stop_sequence", raw="stop_sequence", sequence="END")


def test_unknown_stop_reason_reads_as_end_of_turn() -> None:
    assert stop_of("some_new_reason") == Stop("end_turn", raw="some_new_reason")
    assert stop_of(None) == Stop("end_turn")


def test_blocks_keep_the_provider_order(model: ModelInfo) -> None:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "\n\n"},
        {"type": "thinking", "thinking": "one", "signature": "s1"},
        {"type": "text", "text": "answer"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        {"type": "redacted_thinking", "data": "opaque"},
    ]
    blocks = parse_response(_message(content, "tool_use"), model).candidates[0].blocks
    assert blocks == (
        ThinkingBlock("one"),
        TextBlock("answer"),
        ToolCallBlock("toolu_1", "f", "{}"),
        ThinkingBlock("", redacted=True),
    )


def test_unreadable_body_is_a_protocol_error(model: ModelInfo) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_response(b"<html>oops</html>", model)
    with pytest.raises(UpstreamProtocolError):
        parse_response(b'{"id": "msg_1"}', model)


def test_unknown_block_type_is_named(model: ModelInfo) -> None:
    body = _message([{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}])
    with pytest.raises(UpstreamProtocolError, match="server_tool_use"):
        parse_response(body, model)


def test_error_envelope_with_200_is_mapped(model: ModelInfo) -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(UpstreamOverloaded):
        parse_response(body, model)
