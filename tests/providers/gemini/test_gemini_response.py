"""parse_response over every recorded non-stream Gemini reply, plus synthesized edge cases."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentoken.core.result import ChatResult, TokenLogprob, Usage
from opentoken.providers.gemini import PROVIDER
from opentoken.providers.gemini.replay import ReplayData
from opentoken.providers.gemini.response import new_call_id, parse_response
from support.views import view

Load = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Expected:
    finish: str
    usage: Usage
    content: str | None = None  # exact, or None to mean "content is None"
    content_start: str | None = None  # prefix check for long answers
    reasoning_start: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    signed_calls: tuple[int, ...] = ()  # indexes of calls whose replay carries a signature
    text_signature: bool = False


EXPECTED: dict[str, Expected] = {
    "nonstream_text": Expected(
        "stop", Usage(input_tokens=9, output_tokens=43, reasoning_tokens=34), content="Hello! How can I help you today?"
    ),
    "nonstream_cached_content": Expected(
        "stop",
        Usage(input_tokens=8, cache_read_tokens=3512, output_tokens=44, reasoning_tokens=42),
        content="Paris.",
    ),
    "nonstream_function_call_parallel": Expected(
        "tool_calls",
        Usage(input_tokens=83, output_tokens=220, reasoning_tokens=190),
        calls=(("generate_topic", {}),) * 3,
        signed_calls=(0,),
    ),
    "nonstream_function_call_parallel_gemini20": Expected(
        "tool_calls",
        Usage(input_tokens=64, output_tokens=11),
        calls=(("get_weather", {"location": "Boston"}), ("get_weather", {"location": "New Delhi"})),
    ),
    "nonstream_function_response_followup": Expected(
        "tool_calls",
        Usage(input_tokens=348, output_tokens=50, reasoning_tokens=40),
        calls=(("generate_topic", {}),),
        signed_calls=(0,),
    ),
    "nonstream_image_inline_input": Expected(
        "stop",
        Usage(input_tokens=277, output_tokens=803, reasoning_tokens=678),
        content_start="The image displays a simple, two-tone geometric pattern",
    ),
    "nonstream_implicit_cache_hit": Expected(
        "stop",
        Usage(input_tokens=265, cache_read_tokens=594, output_tokens=28),
        content_start='I have recorded a tree with root "root"',
    ),
    "nonstream_json_response_json_schema": Expected(
        "stop", Usage(input_tokens=26, output_tokens=424, reasoning_tokens=360), content_start='{"name":"My Collection"'
    ),
    "nonstream_json_response_schema": Expected(
        "stop",
        Usage(input_tokens=50, output_tokens=46),
        content_start='{\n  "result": {\n    "kind": "CountryLanguage"',
    ),
    "nonstream_max_tokens": Expected(
        "length", Usage(input_tokens=15, output_tokens=5), content="The capital of France is"
    ),
    "nonstream_max_tokens_thinking_no_parts": Expected(
        "length", Usage(input_tokens=15, output_tokens=2, reasoning_tokens=2), content=""
    ),
    "nonstream_safety_blocked": Expected("content_filter", Usage(input_tokens=14), content=None),
    "nonstream_thinking": Expected(
        "stop",
        Usage(input_tokens=29, output_tokens=1737, reasoning_tokens=1001),
        content_start="Crossing the street safely is a fundamental skill",
        reasoning_start="**A Safe Street-Crossing Guide: My Thought Process**",
        text_signature=True,
    ),
    "nonstream_thinking_multiturn": Expected(
        "stop",
        Usage(input_tokens=1280, output_tokens=2073, reasoning_tokens=1115),
        content_start="Crossing a river is deceptively similar to crossing a street",
        reasoning_start="**Navigating Nature's Road: Thinking Through River Crossing**",
        text_signature=True,
    ),
}


def _parse(fixture: dict[str, Any]) -> ChatResult:
    return parse_response(json.dumps(fixture["response"]["body"]).encode())


def test_every_non_stream_fixture_has_expectations(gemini_dir: Path) -> None:
    names = {p.stem for p in gemini_dir.glob("nonstream_*.json")}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_non_stream_fixture(name: str, gemini_fixture: Load) -> None:
    fixture = gemini_fixture(name)
    body = fixture["response"]["body"]
    expected = EXPECTED[name]
    result = _parse(fixture)

    assert result.id == body["responseId"]
    assert result.upstream_model == body["modelVersion"]
    assert result.usage == expected.usage
    assert result.usage.total_tokens == body["usageMetadata"]["totalTokenCount"]
    assert len(view(result).choices) == 1
    choice = view(result).choices[0]
    assert choice.index == 0
    assert choice.finish_reason == expected.finish
    if expected.content_start is not None:
        assert choice.content is not None and choice.content.startswith(expected.content_start)
    else:
        assert choice.content == expected.content
    if expected.reasoning_start is None:
        assert choice.reasoning is None
    else:
        assert choice.reasoning is not None and choice.reasoning.startswith(expected.reasoning_start)
        assert expected.reasoning_start not in (choice.content or "")
    assert [(c.name, json.loads(c.arguments)) for c in choice.tool_calls] == list(expected.calls)
    assert choice.logprobs is None
    _check_replay(choice.replay, body, expected, [c.id for c in choice.tool_calls])


def _check_replay(replay: Any, body: dict[str, Any], expected: Expected, call_ids: list[str]) -> None:
    signatures = [
        p["thoughtSignature"]
        for p in body["candidates"][0].get("content", {}).get("parts", [])
        if "thoughtSignature" in p
    ]
    if not signatures:
        assert replay is None
        return
    assert replay is not None and replay.provider == "google"
    data = msgspec.json.decode(replay.data, type=ReplayData)
    assert [c.id for c in data.calls] == call_ids
    assert all(not c.native for c in data.calls)  # none of these replies named its calls
    assert [n for n, c in enumerate(data.calls) if c.signature] == list(expected.signed_calls)
    for n in expected.signed_calls:
        assert data.calls[n].signature == signatures[0]
    assert (data.text_signature == signatures[-1]) if expected.text_signature else data.text_signature is None


def test_generated_call_ids_are_unique_and_well_formed(gemini_fixture: Load) -> None:
    choice = view(_parse(gemini_fixture("nonstream_function_call_parallel"))).choices[0]
    ids = [c.id for c in choice.tool_calls]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"call_[A-Za-z0-9]{24}", i) for i in ids)
    assert new_call_id() != new_call_id()


def test_provider_parse_response_matches_module_function(gemini_fixture: Load, model: Any) -> None:
    body = json.dumps(gemini_fixture("nonstream_text")["response"]["body"]).encode()
    assert PROVIDER.parse_response(body, model("google/gemini-2.5-flash")) == parse_response(body)


def _body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_blocked_prompt_gives_content_filter_with_null_content() -> None:
    body = _body(
        promptFeedback={"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []},
        usageMetadata={"promptTokenCount": 7, "totalTokenCount": 7},
        responseId="r1",
    )
    result = parse_response(body)
    assert len(view(result).choices) == 1
    assert view(result).choices[0].content is None
    assert view(result).choices[0].finish_reason == "content_filter"
    assert result.usage == Usage(input_tokens=7)


def test_multiple_candidates_become_choices_in_index_order() -> None:
    body = _body(
        candidates=[
            {"content": {"role": "model", "parts": [{"text": "B"}]}, "finishReason": "MAX_TOKENS", "index": 1},
            {"content": {"role": "model", "parts": [{"text": "A"}]}, "finishReason": "STOP", "index": 0},
        ],
        responseId="r2",
    )
    result = parse_response(body)
    assert [(c.index, c.content, c.finish_reason) for c in view(result).choices] == [
        (0, "A", "stop"),
        (1, "B", "length"),
    ]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("OTHER", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
        ("SOMETHING_NEW", "stop"),
    ],
)
def test_finish_reason_table(reason: str, expected: str) -> None:
    body = _body(candidates=[{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}])
    assert view(parse_response(body)).choices[0].finish_reason == expected


def test_function_call_wins_over_max_tokens_and_keeps_text() -> None:
    parts = [{"text": "Let me look."}, {"functionCall": {"name": "f", "args": {"a": [1, 2]}}}]
    body = _body(candidates=[{"content": {"parts": parts}, "finishReason": "MAX_TOKENS"}])
    choice = view(parse_response(body, new_id=lambda: "call_x")).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.content == "Let me look."
    assert choice.tool_calls[0].id == "call_x"
    assert json.loads(choice.tool_calls[0].arguments) == {"a": [1, 2]}


def test_gemini_call_id_is_kept_and_marked_native() -> None:
    parts = [{"functionCall": {"name": "f", "id": "abc123"}}]
    choice = view(parse_response(_body(candidates=[{"content": {"parts": parts}, "finishReason": "STOP"}]))).choices[0]
    assert choice.tool_calls[0].id == "abc123"
    assert choice.tool_calls[0].arguments == "{}"
    assert choice.replay is not None
    data = msgspec.json.decode(choice.replay.data, type=ReplayData)
    assert data.calls[0].native is True and data.calls[0].signature is None


def test_logprobs_map_to_token_logprobs() -> None:
    candidate = {
        "content": {"parts": [{"text": "Hi there"}]},
        "finishReason": "STOP",
        "logprobsResult": {
            "chosenCandidates": [
                {"token": "Hi", "tokenId": 1, "logProbability": -0.1},
                {"token": " there", "tokenId": 2, "logProbability": -0.5},
            ],
            "topCandidates": [
                {"candidates": [{"token": "Hi", "logProbability": -0.1}, {"token": "Hello", "logProbability": -2.5}]},
                {"candidates": [{"token": " there", "logProbability": -0.5}]},
            ],
        },
    }
    choice = view(parse_response(_body(candidates=[candidate]))).choices[0]
    assert choice.logprobs == (
        TokenLogprob("Hi", -0.1, (("Hi", -0.1), ("Hello", -2.5))),
        TokenLogprob(" there", -0.5, ((" there", -0.5),)),
    )


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # legacy: thoughts already inside candidates (prompt + candidates == total)
        (
            {"promptTokenCount": 10, "candidatesTokenCount": 30, "thoughtsTokenCount": 20, "totalTokenCount": 40},
            Usage(input_tokens=10, output_tokens=30, reasoning_tokens=20),
        ),
        # tool-use prompt tokens count as input
        (
            {"promptTokenCount": 10, "toolUsePromptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 18},
            Usage(input_tokens=15, output_tokens=3),
        ),
        (
            {
                "promptTokenCount": 100,
                "cachedContentTokenCount": 60,
                "candidatesTokenCount": 3,
                "thoughtsTokenCount": 4,
            },
            Usage(input_tokens=40, cache_read_tokens=60, output_tokens=7, reasoning_tokens=4),
        ),
    ],
)
def test_usage_rules(meta: dict[str, int], expected: Usage) -> None:
    assert parse_response(_body(candidates=[], usageMetadata=meta)).usage == expected
