"""Tool loops and thought signatures across turns: function responses (count, order, ids, errors), the
signature round trip through ``ReplayState``, the Gemini 3 dummy fallback, and the recorded follow-up
requests rebuilt from the recorded replies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, Message, ReplayState, TextPart, Tool, ToolCall, ToolChoice
from opentoken.core.errors import InvalidRequest, Loc
from opentoken.core.fold import fold_events
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini.replay import DUMMY_SIGNATURE, CallReplay, ReplayData
from opentoken.providers.gemini.request import build_request
from opentoken.providers.gemini.response import parse_response
from opentoken.providers.gemini.stream import GeminiStreamDecoder
from support.views import ChoiceView, view

Load = Callable[[str], dict[str, Any]]
GetModel = Callable[[str], ModelInfo]
Split = Callable[[str], list[SSEEvent]]


def std_b64(text: str) -> str:
    return text.replace("-", "+").replace("_", "/")


def user(text: str) -> Message:
    return Message("user", (TextPart(text),))


def tool(call_id: str | None, text: str) -> Message:
    return Message("tool", (TextPart(text),), tool_call_id=call_id)


def assistant_from(choice: ChoiceView) -> Message:
    """The assistant message an OpenAI client sends back, with the replay the pipeline attaches."""
    parts = (TextPart(choice.content),) if choice.content else ()
    return Message("assistant", parts, tool_calls=choice.tool_calls, replay=choice.replay)


def contents(model: ModelInfo, *messages: Message, **fields: Any) -> list[dict[str, Any]]:
    built = build_request(ChatRequest(model=model.id, messages=messages, **fields), model)
    result: list[dict[str, Any]] = json.loads(built.body)["contents"]
    return result


CALLS = (ToolCall("call_a", "f", '{"x": 1}'), ToolCall("call_b", "g", "{}"), ToolCall("call_c", "f", '{"x": 2}'))


# ---- function responses ----


def test_function_responses_follow_call_order_and_names(model: GetModel) -> None:
    info = model("google/gemini-2.5-flash")
    got = contents(
        info,
        user("go"),
        Message("assistant", tool_calls=CALLS),
        tool("call_c", "three"),
        tool("call_a", '{"temp": 3, "unit": "C"}'),
        tool("call_b", "[1, 2]"),
        user("thanks"),
    )
    assert got[1] == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "f", "args": {"x": 1}}},
            {"functionCall": {"name": "g", "args": {}}},
            {"functionCall": {"name": "f", "args": {"x": 2}}},
        ],
    }
    assert got[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "f", "response": {"temp": 3, "unit": "C"}}},  # a JSON object goes as-is
            {"functionResponse": {"name": "g", "response": {"content": "[1, 2]"}}},  # anything else is wrapped
            {"functionResponse": {"name": "f", "response": {"content": "three"}}},
            {"text": "thanks"},
        ],
    }
    assert len(got) == 3


@pytest.mark.parametrize(
    ("tail", "loc"),
    [
        ((tool("call_a", "1"), tool("call_x", "2")), ("messages", 3, "tool_call_id")),  # unknown id
        ((tool(None, "1"),), ("messages", 2, "tool_call_id")),  # missing id
        ((tool("call_a", "1"), tool("call_a", "again")), ("messages", 3, "tool_call_id")),  # answered twice
        ((tool("call_a", "1"), tool("call_c", "3")), ("messages", 1, "tool_calls", 1)),  # call_b unanswered
        ((user("what?"),), ("messages", 1, "tool_calls", 0)),  # no tool messages at all
        ((), ("messages", 1, "tool_calls", 0)),  # conversation ends with pending calls
    ],
)
def test_function_response_errors_name_the_message(model: GetModel, tail: tuple[Message, ...], loc: Loc) -> None:
    with pytest.raises(InvalidRequest) as e:
        contents(model("google/gemini-2.5-flash"), user("go"), Message("assistant", tool_calls=CALLS), *tail)
    assert e.value.loc == loc
    assert e.value.status == 400


def test_tool_message_answering_an_older_call_is_accepted(model: GetModel) -> None:
    info = model("google/gemini-2.5-flash")
    got = contents(
        info,
        user("go"),
        Message("assistant", tool_calls=(CALLS[0],)),
        tool("call_a", "1"),
        Message("assistant", tool_calls=(CALLS[1],)),
        tool("call_b", "2"),
    )
    assert [p["functionResponse"]["name"] for p in got[4]["parts"]] == ["g"]


# ---- signature round trip ----


def test_parallel_call_signature_round_trip(gemini_fixture: Load, model: GetModel) -> None:
    fixture = gemini_fixture("nonstream_function_call_parallel")
    recorded_sig = fixture["response"]["body"]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    choice = view(parse_response(json.dumps(fixture["response"]["body"]).encode())).choices[0]
    info = model("google/gemini-3-flash")
    answers = [tool(c.id, "topic") for c in choice.tool_calls]
    got = contents(info, user("jokes"), assistant_from(choice), *answers)
    model_parts = got[1]["parts"]
    assert [p.get("thoughtSignature") for p in model_parts] == [recorded_sig, None, None]
    assert all("id" not in p["functionCall"] for p in model_parts)  # Gemini gave no ids: none are sent
    assert [p["functionResponse"] for p in got[2]["parts"]] == [
        {"name": "generate_topic", "response": {"content": "topic"}}
    ] * 3


def test_native_ids_round_trip_from_a_stream(gemini_fixture: Load, model: GetModel, sse: Split) -> None:
    decoder = GeminiStreamDecoder()
    events = [
        e
        for ev in sse(gemini_fixture("stream_function_call_parallel_thinking")["response"]["body_text"])
        for e in decoder.feed(ev)
    ]
    choice = view(fold_events([*events, *decoder.close()])).choices[0]
    got = contents(
        model("google/gemini-3-flash"),
        user("weather?"),
        assistant_from(choice),
        tool("j80tal12", "30C"),
        tool("dv8szvqe", "5C"),
    )
    calls = [p["functionCall"] for p in got[1]["parts"]]
    assert [c["id"] for c in calls] == ["dv8szvqe", "j80tal12"]
    assert got[1]["parts"][0]["thoughtSignature"].startswith("EvsDCvgDAQw51sfOm202")
    assert "thoughtSignature" not in got[1]["parts"][1]
    responses = [p["functionResponse"] for p in got[2]["parts"]]
    assert [(r["id"], r["response"]) for r in responses] == [
        ("dv8szvqe", {"content": "5C"}),
        ("j80tal12", {"content": "30C"}),
    ]


def test_text_signature_round_trip(gemini_fixture: Load, model: GetModel) -> None:
    body = gemini_fixture("nonstream_thinking")["response"]["body"]
    choice = view(parse_response(json.dumps(body).encode())).choices[0]
    got = contents(
        model("google/gemini-3-pro"), user("How do I cross the street?"), assistant_from(choice), user("And a river?")
    )
    assert got[1]["parts"] == [
        {"text": choice.content, "thoughtSignature": body["candidates"][0]["content"]["parts"][1]["thoughtSignature"]}
    ]


# ---- dummy signature fallback (Gemini 3) ----


def _history() -> tuple[Message, ...]:
    return (
        user("first question"),
        Message("assistant", tool_calls=(ToolCall("call_old", "f", "{}"),)),
        tool("call_old", "1"),
        Message("assistant", (TextPart("done"),)),
        user("second question"),
        Message("assistant", (TextPart("Checking."),), tool_calls=CALLS[:2]),
        tool("call_a", "1"),
        tool("call_b", "2"),
        Message("assistant", tool_calls=(CALLS[2],)),
        tool("call_c", "3"),
    )


def test_dummy_signature_on_first_call_of_each_current_step(model: GetModel) -> None:
    got = contents(model("google/gemini-3-pro"), *_history())
    signatures = [[p.get("thoughtSignature") for p in c["parts"]] for c in got if c["role"] == "model"]
    assert signatures == [
        [None],  # before the last user message: not validated, left alone
        [None],
        [None, DUMMY_SIGNATURE, None],  # text part, first call, second call
        [DUMMY_SIGNATURE],
    ]


def test_no_dummy_signature_before_gemini_3(model: GetModel) -> None:
    got = contents(model("google/gemini-2.5-flash"), *_history())
    assert not any("thoughtSignature" in p for c in got for p in c["parts"])


def test_real_signature_wins_and_foreign_replay_is_ignored(model: GetModel) -> None:
    ours = ReplayData(calls=[CallReplay(id="call_c", signature="c2lnLWM=")])
    history = list(_history())
    history[8] = replace(history[8], replay=ReplayState("google", msgspec.json.encode(ours).decode()))
    history[5] = replace(history[5], replay=ReplayState("anthropic", '{"calls": [{"id": "call_a", "signature": "x"}]}'))
    got = contents(model("google/gemini-3-pro"), *history)
    model_turns = [c for c in got if c["role"] == "model"]
    assert model_turns[2]["parts"][1]["thoughtSignature"] == DUMMY_SIGNATURE
    assert model_turns[3]["parts"][0]["thoughtSignature"] == "c2lnLWM="


def test_unreadable_replay_falls_back_to_the_dummy(model: GetModel) -> None:
    history = list(_history())
    history[8] = replace(history[8], replay=ReplayState("google", "not json"))
    got = contents(model("google/gemini-3-pro"), *history)
    assert [c for c in got if c["role"] == "model"][3]["parts"][0]["thoughtSignature"] == DUMMY_SIGNATURE


# ---- recorded follow-up requests, rebuilt from the recorded replies ----


def _model_at(model: GetModel, model_id: str, recorded_path: str) -> ModelInfo:
    upstream = recorded_path.split("models/")[1].split(":")[0]
    return replace(model(model_id), upstream_model=upstream)


def test_recorded_parallel_follow_up(gemini_fixture: Load, model: GetModel) -> None:
    first = gemini_fixture("nonstream_function_call_parallel")
    follow = gemini_fixture("nonstream_function_response_followup")["request"]
    choice = view(parse_response(json.dumps(first["response"]["body"]).encode())).choices[0]
    recorded = follow["body"]["contents"]
    results = [json.dumps(p["functionResponse"]["response"]) for p in recorded[2]["parts"]]
    messages = (
        Message("system", (TextPart(follow["body"]["systemInstruction"]["parts"][0]["text"]),)),
        user("Tell three jokes."),
        assistant_from(choice),
        *(tool(c.id, r) for c, r in zip(choice.tool_calls, results, strict=True)),
    )
    info = _model_at(model, "google/gemini-3-flash", follow["path"])
    tools = tuple(
        Tool(d["name"], d["description"], d["parameters_json_schema"])
        for d in follow["body"]["tools"][0]["functionDeclarations"]
    )
    request = ChatRequest(model=info.id, messages=messages, tools=tools, tool_choice=ToolChoice("required"))
    built = build_request(request, info)
    body = json.loads(built.body)
    assert built.path == follow["path"]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    mine, theirs = body["contents"][1]["parts"], recorded[1]["parts"]
    assert [p["functionCall"]["name"] for p in mine] == [p["functionCall"]["name"] for p in theirs]
    assert [p["functionCall"]["args"] for p in mine] == [p["functionCall"]["args"] for p in theirs]
    assert [p.get("thoughtSignature") for p in mine] == [
        std_b64(p["thoughtSignature"]) if "thoughtSignature" in p else None for p in theirs
    ]
    assert [{k: v for k, v in p["functionResponse"].items() if k != "id"} for p in body["contents"][2]["parts"]] == [
        {k: v for k, v in p["functionResponse"].items() if k != "id"} for p in recorded[2]["parts"]
    ]


def test_recorded_stream_follow_up(gemini_fixture: Load, model: GetModel, sse: Split) -> None:
    first = gemini_fixture("stream_function_call")
    follow = gemini_fixture("stream_function_response_followup")["request"]
    decoder = GeminiStreamDecoder()
    events = [e for ev in sse(first["response"]["body_text"]) for e in decoder.feed(ev)]
    choice = view(fold_events([*events, *decoder.close()])).choices[0]
    recorded = follow["body"]["contents"]
    info = _model_at(model, "google/gemini-3-pro", follow["path"])
    messages = (
        user(recorded[0]["parts"][0]["text"]),
        assistant_from(choice),
        tool(choice.tool_calls[0].id, json.dumps(recorded[2]["parts"][0]["functionResponse"]["response"])),
    )
    built = build_request(ChatRequest(model=info.id, messages=messages, stream=True), info)
    body = json.loads(built.body)
    assert built.path == f"{follow['path']}?{follow['query']}"
    assert body["contents"][0] == recorded[0]
    part = body["contents"][1]["parts"][0]
    assert part["functionCall"] == {"name": "get_country", "args": {}}
    assert part["thoughtSignature"] == std_b64(recorded[1]["parts"][0]["thoughtSignature"])
    assert body["contents"][2]["parts"][0]["functionResponse"] == {
        "name": "get_country",
        "response": {"return_value": "Mexico"},
    }


def test_recorded_thinking_follow_up(gemini_fixture: Load, model: GetModel) -> None:
    first = gemini_fixture("nonstream_thinking")["response"]["body"]
    follow = gemini_fixture("nonstream_thinking_multiturn")["request"]
    recorded = follow["body"]["contents"]
    choice = view(parse_response(json.dumps(first).encode())).choices[0]
    info = _model_at(model, "google/gemini-3-pro", follow["path"])
    messages = (user(recorded[0]["parts"][0]["text"]), assistant_from(choice), user(recorded[2]["parts"][0]["text"]))
    body = json.loads(build_request(ChatRequest(model=info.id, messages=messages, reasoning_effort="high"), info).body)
    answer = [p for p in recorded[1]["parts"] if not p.get("thought")]  # thought summaries are not sent back
    assert body["contents"][1]["parts"] == [{**answer[0], "thoughtSignature": std_b64(answer[0]["thoughtSignature"])}]
    assert body["contents"][0] == recorded[0] and body["contents"][2] == recorded[2]
    assert body["generationConfig"]["thinkingConfig"]["includeThoughts"] is True


def test_recorded_implicit_cache_follow_up(gemini_fixture: Load, model: GetModel) -> None:
    follow = gemini_fixture("nonstream_implicit_cache_hit")["request"]
    recorded = follow["body"]["contents"]
    call_part = recorded[1]["parts"][0]
    signature = std_b64(call_part["thoughtSignature"])
    replay = ReplayData(calls=[CallReplay(id="call_rec", signature=signature)])
    info = _model_at(model, "google/gemini-2.5-flash", follow["path"])
    messages = (
        user(recorded[0]["parts"][0]["text"]),
        Message(
            "assistant",
            tool_calls=(ToolCall("call_rec", "record", json.dumps(call_part["functionCall"]["args"])),),
            replay=ReplayState("google", msgspec.json.encode(replay).decode()),
        ),
        tool("call_rec", json.dumps(recorded[2]["parts"][0]["functionResponse"]["response"])),
    )
    body = json.loads(build_request(ChatRequest(model=info.id, messages=messages), info).body)
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"name": "record", "args": call_part["functionCall"]["args"]}, "thoughtSignature": signature}
    ]
    response = recorded[2]["parts"][0]["functionResponse"]
    assert body["contents"][2]["parts"] == [{"functionResponse": {"name": "record", "response": response["response"]}}]


def test_empty_user_text_with_system_prompt_fixture(gemini_fixture: Load, model: GetModel) -> None:
    """The recorded request sends an empty user text; we drop empty text, so the system text becomes the turn."""
    body = gemini_fixture("nonstream_function_call_parallel")["request"]["body"]
    system = body["systemInstruction"]["parts"][0]["text"]
    got = contents(model("google/gemini-3-flash"), Message("system", (TextPart(system),)), user(""))
    assert got == [{"role": "user", "parts": [{"text": system}]}]
