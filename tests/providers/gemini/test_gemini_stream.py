"""The stream decoder over every recorded Gemini SSE body: event shapes, specific values, and the conformance
check fold(stream events) == parse_response(the non-stream body rebuilt from the same chunks)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentoken.core.errors import UpstreamOverloaded, UpstreamProtocolError, UpstreamRateLimited
from opentoken.core.fold import fold_events
from opentoken.core.result import (
    BlockDelta,
    BlockStart,
    BlockStop,
    Finish,
    LogprobsDelta,
    ReplayUpdate,
    Stop,
    StreamEvent,
    StreamStart,
    TokenLogprob,
    Usage,
    UsageUpdate,
)
from opentoken.ingress.openai_chat.render import FINISH_REASONS
from opentoken.providers.base import SSEEvent
from opentoken.providers.gemini import PROVIDER
from opentoken.providers.gemini.replay import ReplayData
from opentoken.providers.gemini.response import parse_response
from opentoken.providers.gemini.stream import GeminiStreamDecoder
from support.views import view

Load = Callable[[str], dict[str, Any]]
Split = Callable[[str], list[SSEEvent]]


@dataclass(frozen=True)
class Expected:
    finish: str
    usage: Usage
    content: str | None = None
    content_start: str | None = None
    reasoning_start: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    native_ids: tuple[str, ...] = ()
    replay: bool = False


EXPECTED: dict[str, Expected] = {
    "stream_text": Expected(
        "stop",
        Usage(input_tokens=18, output_tokens=115, reasoning_tokens=35),
        content="\n".join(str(n) for n in range(1, 31)),
    ),
    "stream_text_gemini20": Expected(
        "stop", Usage(input_tokens=13, output_tokens=8), content="The capital of France is Paris.\n"
    ),
    "stream_function_call": Expected(
        "tool_calls",
        Usage(input_tokens=29, output_tokens=212, reasoning_tokens=202),
        calls=(("get_country", {}),),
        replay=True,
    ),
    "stream_function_call_parallel_gemini20": Expected(
        "tool_calls",
        Usage(input_tokens=64, output_tokens=11),
        calls=(("get_weather", {"location": "Boston"}), ("get_weather", {"location": "New Delhi"})),
    ),
    "stream_function_call_parallel_thinking": Expected(
        "tool_calls",
        Usage(input_tokens=71, output_tokens=126, reasoning_tokens=93),
        calls=(("get_weather", {"location": "Boston"}), ("get_weather", {"location": "New Delhi"})),
        native_ids=("dv8szvqe", "j80tal12"),
        replay=True,
    ),
    "stream_function_call_single_chunk_gemini20": Expected(
        "tool_calls", Usage(input_tokens=63, output_tokens=6), calls=(("get_weather", {"location": "San Francisco"}),)
    ),
    "stream_function_response_followup": Expected(
        "stop", Usage(input_tokens=257, output_tokens=8), content="The capital of Mexico is Mexico City."
    ),
    "stream_image_inline_input": Expected(
        "stop",
        Usage(input_tokens=277, output_tokens=694, reasoning_tokens=570),
        content_start="The image shows a simple, blurry checkerboard pattern",
    ),
    "stream_thinking": Expected(
        "stop",
        Usage(input_tokens=11, output_tokens=1416, reasoning_tokens=713),
        content_start="Here is a cozy, calming bedtime story",
        reasoning_start="**Defining the Narrative Parameters**",
        replay=True,
    ),
    "stream_thinking_gemini25pro": Expected(
        "stop",
        Usage(input_tokens=34, output_tokens=1256, reasoning_tokens=787),
        content_start="This is a great question! Safely crossing the street",
        reasoning_start="**Clarifying User Goals**",
        replay=True,
    ),
}


def _decode(events: list[SSEEvent], new_id: Callable[[], str] | None = None) -> list[StreamEvent]:
    decoder = GeminiStreamDecoder(new_id) if new_id is not None else GeminiStreamDecoder()
    out: list[StreamEvent] = []
    for event in events:
        out.extend(decoder.feed(event))
    out.extend(decoder.close())
    return out


def _rebuild(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-stream reply these chunks add up to, built straight from the JSON (not via the decoder)."""
    candidates: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for position, cand in enumerate(chunk.get("candidates", [])):
            index = cand.get("index", position)
            acc = candidates.setdefault(index, {"content": {"role": "model", "parts": []}, "index": index})
            parts = acc["content"]["parts"]
            for part in cand.get("content", {}).get("parts", []):
                prev = parts[-1] if parts else None
                mergeable = prev is not None and "text" in prev and "text" in part and "thoughtSignature" not in prev
                if prev is not None and mergeable and bool(prev.get("thought")) == bool(part.get("thought")):
                    prev["text"] += part["text"]
                    if "thoughtSignature" in part:
                        prev["thoughtSignature"] = part["thoughtSignature"]
                else:
                    parts.append(copy.deepcopy(part))
            if "finishReason" in cand:
                acc["finishReason"] = cand["finishReason"]
    return {
        "candidates": [candidates[i] for i in sorted(candidates)],
        "usageMetadata": chunks[-1]["usageMetadata"],
        "modelVersion": chunks[0]["modelVersion"],
        "responseId": chunks[0]["responseId"],
    }


def test_every_stream_fixture_has_expectations(gemini_dir: Path) -> None:
    assert {p.stem for p in gemini_dir.glob("stream_*.json")} == set(EXPECTED)


def test_sse_split_handles_crlf_and_lf(sse: Split) -> None:
    text = 'data: {"a": 1}\r\n\r\ndata: {"b": 2}\n\ndata: {"c":\ndata: 3}\n\n'
    assert [e.data for e in sse(text)] == ['{"a": 1}', '{"b": 2}', '{"c":\n3}']


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stream_fixture_events(name: str, gemini_fixture: Load, sse: Split) -> None:
    fixture = gemini_fixture(name)
    sse_events = sse(fixture["response"]["body_text"])
    chunks = [json.loads(e.data) for e in sse_events]
    events = _decode(sse_events)
    expected = EXPECTED[name]

    assert events[0] == StreamStart(id=chunks[0]["responseId"], upstream_model=chunks[0]["modelVersion"])
    assert sum(isinstance(e, StreamStart) for e in events) == 1
    assert sum(isinstance(e, UsageUpdate) for e in events) == len(chunks)
    finishes = [n for n, e in enumerate(events) if isinstance(e, Finish)]
    assert len(finishes) == 1
    finish = events[finishes[0]]
    assert isinstance(finish, Finish) and FINISH_REASONS[finish.stop.reason] == expected.finish
    assert all(isinstance(e, UsageUpdate) for e in events[finishes[0] + 1 :])
    assert [e for e in events if isinstance(e, UsageUpdate)][-1].usage == expected.usage
    assert all(e.text for e in events if isinstance(e, BlockDelta))
    opened = [e.index for e in events if isinstance(e, BlockStart)]
    assert opened == list(range(len(opened)))
    assert [e.index for e in events if isinstance(e, BlockStop)] == opened

    starts = [(n, e) for n, e in enumerate(events) if isinstance(e, BlockStart) and e.kind == "tool_call"]
    assert len(starts) == len(expected.calls)
    for k, (n, start) in enumerate(starts):  # each call: a start, one delta with the whole JSON arguments, a stop
        delta, stop = events[n + 1], events[n + 2]
        assert isinstance(delta, BlockDelta) and delta.index == start.index
        assert stop == BlockStop(start.index)
        assert (start.name, json.loads(delta.text)) == expected.calls[k]
    if expected.native_ids:
        assert tuple(e.id for _, e in starts) == expected.native_ids
    assert any(isinstance(e, ReplayUpdate) for e in events) == expected.replay

    result = fold_events(events)
    choice = view(result).choices[0]
    assert choice.finish_reason == expected.finish
    assert result.usage == expected.usage
    if expected.content_start is not None:
        assert choice.content is not None and choice.content.startswith(expected.content_start)
    else:
        assert choice.content == expected.content
    if expected.reasoning_start is None:
        assert choice.reasoning is None
    else:
        assert choice.reasoning is not None and choice.reasoning.startswith(expected.reasoning_start)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fold_equals_non_stream_parse(
    name: str, gemini_fixture: Load, sse: Split, counter_ids: Callable[[], Callable[[], str]]
) -> None:
    sse_events = sse(gemini_fixture(name)["response"]["body_text"])
    folded = fold_events(_decode(sse_events, counter_ids()))
    body = _rebuild([json.loads(e.data) for e in sse_events])
    assert folded == parse_response(json.dumps(body).encode(), new_id=counter_ids())


def test_native_ids_and_signature_in_stream_replay(gemini_fixture: Load, sse: Split) -> None:
    fixture = gemini_fixture("stream_function_call_parallel_thinking")
    events = _decode(sse(fixture["response"]["body_text"]))
    updates = [e for e in events if isinstance(e, ReplayUpdate)]
    assert len(updates) == 2  # one per chunk that added a call
    data = msgspec.json.decode(updates[-1].replay.data, type=ReplayData)
    assert [(c.id, c.native) for c in data.calls] == [("dv8szvqe", True), ("j80tal12", True)]
    assert data.calls[0].signature is not None and data.calls[0].signature.startswith("EvsDCvgDAQw51sfOm202")
    assert data.calls[1].signature is None


def _chunk(**fields: Any) -> SSEEvent:
    return SSEEvent(data=json.dumps(fields))


def test_close_without_finish_reason_finishes_the_turn() -> None:
    decoder = GeminiStreamDecoder()
    events = decoder.feed(_chunk(candidates=[{"content": {"parts": [{"text": "Hel"}]}}], responseId="r"))
    assert events == [StreamStart(id="r", upstream_model=None), BlockStart(0, "text"), BlockDelta(0, "Hel")]
    assert decoder.close() == [BlockStop(0), Finish(Stop("end_turn"))]


def test_close_after_finish_emits_nothing() -> None:
    decoder = GeminiStreamDecoder()
    decoder.feed(_chunk(candidates=[{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]))
    assert decoder.close() == []


def test_close_before_any_event_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        GeminiStreamDecoder().close()


def test_blocked_prompt_chunk_finishes_with_content_filter() -> None:
    decoder = GeminiStreamDecoder()
    events = decoder.feed(_chunk(promptFeedback={"blockReason": "SAFETY"}, usageMetadata={"promptTokenCount": 4}))
    assert events[1:] == [Finish(Stop("content_filter", raw="SAFETY")), UsageUpdate(Usage(input_tokens=4))]
    assert decoder.close() == []


def test_in_stream_error_event_raises_mapped_error() -> None:
    decoder = GeminiStreamDecoder()
    decoder.feed(_chunk(candidates=[{"content": {"parts": [{"text": "partial"}]}}]))
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    with pytest.raises(UpstreamOverloaded, match="overloaded"):
        decoder.feed(SSEEvent(data=json.dumps(error)))


def test_error_as_first_event_raises() -> None:
    error = {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(UpstreamRateLimited):
        GeminiStreamDecoder().feed(SSEEvent(data=json.dumps(error)))


def test_unreadable_event_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        GeminiStreamDecoder().feed(SSEEvent(data="{not json"))


def test_multiple_candidates_keep_separate_block_indexes_and_finishes() -> None:
    decoder = GeminiStreamDecoder(new_id=iter(["c1", "c2", "c3"]).__next__)
    call = {"functionCall": {"name": "f", "args": {}}}
    events = decoder.feed(
        _chunk(
            candidates=[
                {"content": {"parts": [call, call]}, "index": 0, "finishReason": "STOP"},
                {"content": {"parts": [call]}, "index": 1, "finishReason": "STOP"},
            ]
        )
    )
    starts = [(e.candidate, e.index, e.id) for e in events if isinstance(e, BlockStart)]
    assert starts == [(0, 0, "c1"), (0, 1, "c2"), (1, 0, "c3")]
    assert [e for e in events if isinstance(e, Finish)] == [
        Finish(Stop("tool_use", raw="STOP"), 0),
        Finish(Stop("tool_use", raw="STOP"), 1),
    ]


def test_logprobs_in_stream_become_logprobs_deltas() -> None:
    result = {"chosenCandidates": [{"token": "A", "logProbability": -0.2}], "topCandidates": []}
    events = GeminiStreamDecoder().feed(
        _chunk(candidates=[{"content": {"parts": [{"text": "A"}]}, "logprobsResult": result}])
    )
    assert LogprobsDelta((TokenLogprob("A", -0.2),)) in events


def test_provider_stream_decoder(model: Any) -> None:
    decoder = PROVIDER.stream_decoder(model("google/gemini-3-flash"))
    assert decoder.feed(SSEEvent(data="")) == []
    assert isinstance(decoder, GeminiStreamDecoder)
