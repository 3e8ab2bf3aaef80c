"""The Responses codec without servers: parsing into canonical messages (items grouped into turns, namespaced
and custom tools, sealed state), error locations, and the event writer against the non-stream renderer, the
official event schemas and the event-order state machine."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.core.fold import fold_events
from opentoken.core.money import Cost
from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    Usage,
)
from opentoken.core.seal import KeyRing, new_key
from opentoken.ingress.openai_responses.locs import render_loc
from opentoken.ingress.openai_responses.parse import ParsedResponse, build, parse_body
from opentoken.ingress.openai_responses.render import ItemIds, item_dicts, output_items
from opentoken.ingress.openai_responses.state import StateSeal
from opentoken.ingress.openai_responses.stream import EventWriter
from support.responses_schema import EventGrammar, check_event

SEAL = StateSeal(KeyRing([new_key()]))
FUNCTION = {"type": "function", "name": "read", "parameters": {"type": "object"}, "strict": True}
NAMESPACE = {"type": "namespace", "name": "fs", "description": "files", "tools": [{**FUNCTION, "name": "write"}]}
CUSTOM = {"type": "custom", "name": "apply_patch"}


def parsed(body: dict[str, Any], key: str = "key_1", history: tuple[dict[str, Any], ...] = ()) -> ParsedResponse:
    return build(parse_body(orjson.dumps({"model": "google/gemini-3-flash", **body})), key, history, SEAL.opener(key))


def test_items_become_turns_with_their_state() -> None:
    state = SEAL.seal(c.ReplayState("anthropic", '[{"type":"thinking"}]'), "key_1")
    p = parsed(
        {
            "instructions": "Be brief.",
            "tools": [FUNCTION, NAMESPACE, CUSTOM],
            "input": [
                {"role": "developer", "content": "dev"},
                {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
                {"type": "function_call", "call_id": "c1", "name": "write", "namespace": "fs", "arguments": ""},
                {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** patch"},
                {"type": "reasoning", "summary": [], "encrypted_content": state},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
                {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"},
                {"role": "assistant", "content": "finished"},
            ],
        }
    )
    assert p.request is not None
    roles = [m.role for m in p.request.messages]
    assert roles == ["system", "system", "user", "assistant", "tool", "tool", "assistant"]
    turn = p.request.messages[3]
    assert [(t.id, t.name, t.arguments) for t in turn.tool_calls] == [
        ("c1", "fs__write", "{}"),
        ("c2", "apply_patch", '{"input":"*** patch"}'),
    ]
    assert turn.replay == c.ReplayState("anthropic", '[{"type":"thinking"}]')
    assert [t.name for t in p.request.tools] == ["read", "fs__write", "apply_patch"]
    assert p.tools.origin("fs__write").namespace == "fs" and p.tools.origin("apply_patch").kind == "custom"
    assert all(item["id"] for item in p.raw_items)


def test_state_sealed_for_another_key_is_refused_naming_the_item() -> None:
    state = SEAL.seal(c.ReplayState("google", "{}"), "key_other")
    items = [{"role": "user", "content": "x"}, {"type": "reasoning", "summary": [], "encrypted_content": state}]
    with pytest.raises(InvalidRequest) as info:
        parsed({"input": [*items, {"role": "assistant", "content": "y"}]})
    assert info.value.param == "input[1].encrypted_content" and info.value.code == "invalid_encrypted_content"


@pytest.mark.parametrize(
    ("body", "param", "error"),
    [
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id", InvalidRequest),
        ({"input": [{"type": "bogus"}]}, "input[0].type", InvalidRequest),
        ({"input": "x", "tools": [{"type": "file_search"}]}, "tools[0].type", UnsupportedParameter),
        ({"input": "x", "tools": [FUNCTION, FUNCTION]}, "tools[1].name", InvalidRequest),
        ({"input": "x", "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice", InvalidRequest),
        ({"input": "x", "background": True}, "background", UnsupportedParameter),
        ({"input": "x", "previous_response_id": "msg_1"}, "previous_response_id", InvalidRequest),
        ({"input": "x", "temperature": 3}, "temperature", InvalidRequest),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].id", UnsupportedParameter),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0].file_id",
            UnsupportedParameter,
        ),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], param: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        parsed(body)
    assert getattr(info.value, "param", None) == param


def test_neutral_locations_render_in_responses_syntax() -> None:
    p = parsed(
        {
            "instructions": "x",
            "tools": [FUNCTION, NAMESPACE],
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": ""}, {"type": "input_text", "text": "hi"}]},
                {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            ],
        }
    )
    assert render_loc(("messages", 1, "parts", 0), p) == "input[0].content[1]"  # the empty part was dropped
    assert render_loc(("messages", 2, "tool_calls", 0, "arguments"), p) == "input[1].arguments"
    assert render_loc(("messages", 3, "tool_call_id"), p) == "input[2].call_id"
    assert render_loc(("messages", 0), p) == "instructions"
    assert render_loc(("tools", 1, "parameters"), p) == "tools[1].tools[0].parameters"
    assert render_loc(("max_tokens",), p) == "max_output_tokens"
    assert render_loc(("reasoning_effort",), p) == "reasoning.effort"


EVENTS: list[StreamEvent] = [
    StreamStart(id="up_1"),
    BlockStart(0, "thinking"),
    BlockDelta(0, "Let me "),
    BlockDelta(0, "think."),
    BlockStop(0),
    BlockStart(1, "server_tool", id="srv_1", name="web_search"),
    BlockDelta(1, '{"query": "tides"}'),
    BlockStop(1),
    BlockStart(2, "server_tool_result", id="srv_1", name="web_search"),
    BlockDelta(2, '[{"url": "https://example.com/a", "title": "A"}]'),
    BlockStop(2),
    BlockStart(3, "text"),
    BlockDelta(3, "Hello"),
    BlockStop(3),
    BlockStart(4, "text"),
    BlockDelta(4, " world"),
    BlockStop(4),
    BlockStart(5, "tool_call", id="c1", name="fs__write"),
    BlockDelta(5, '{"a":'),
    BlockDelta(5, " 1}"),
    BlockStop(5),
    BlockStart(6, "tool_call", id="c2", name="apply_patch"),
    BlockDelta(6, '{"input": "*** Begin Patch"}'),
    BlockStop(6),
    ReplayUpdate(c.ReplayState("anthropic", "[]")),
    Finish(Stop("tool_use")),
]


def test_stream_events_follow_the_grammar_and_equal_the_whole_reply() -> None:
    p = parsed({"input": "x", "tools": [NAMESPACE, CUSTOM], "reasoning": {"summary": "auto"}})
    ids = ItemIds("req_0123456789abcdef01234567")
    writer = EventWriter(p, ids, "resp_1", 1, "google/gemini-3-flash")
    frames = writer.start()
    for ev in EVENTS:
        frames += writer.event(ev)
    state = SEAL.seal(c.ReplayState("anthropic", "[]"), "key_1")
    frames += writer.finish(
        Usage(input_tokens=3, output_tokens=5, reasoning_tokens=2), Cost(*(Decimal(0),) * 5), state, 2
    )
    grammar = EventGrammar()
    for frame in frames:
        name, data = frame.decode().split("\n")[0][7:], json.loads(frame.decode().split("\n")[1][6:])
        check_event(name, data)
        grammar.feed(data)
    grammar.close()
    assert grammar.final is not None
    whole = output_items(fold_events(EVENTS).candidates[0], p, ids, state)
    assert grammar.final["output"] == item_dicts(whole)
    kinds = [item["type"] for item in grammar.final["output"]]
    assert kinds == ["reasoning", "web_search_call", "message", "function_call", "custom_tool_call", "reasoning"]
    search, message, call, custom = grammar.final["output"][1:5]
    assert search["action"]["query"] == "tides" and search["action"]["sources"] == [
        {"type": "url", "url": "https://example.com/a"}
    ]
    assert [part["text"] for part in message["content"]] == ["Hello", " world"]
    assert (call["name"], call["namespace"], call["arguments"]) == ("write", "fs", '{"a": 1}')
    assert (custom["name"], custom["input"]) == ("apply_patch", "*** Begin Patch")
    assert grammar.final["output"][0]["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert grammar.final["output"][-1]["encrypted_content"] == state
