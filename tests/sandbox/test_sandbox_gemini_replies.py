"""Simulated Gemini replies have the recorded shapes, SSE framing, cumulative usage and thought signatures."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a location",
    "parameters": {
        "type": "OBJECT",
        "properties": {"location": {"type": "STRING"}, "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"],
    },
}
TIME = {
    "name": "get_time",
    "parametersJsonSchema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def tools(*declarations: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"functionDeclarations": list(declarations)}]


def recorded_chunks(recorded: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(b[len("data: ") :]) for b in recorded["response"]["body_text"].split("\r\n\r\n") if b]


def check_usage(usage: dict[str, Any]) -> None:
    total = usage["promptTokenCount"] + usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
    assert usage["totalTokenCount"] == total
    assert sum(d["tokenCount"] for d in usage["promptTokensDetails"]) == usage["promptTokenCount"]


async def test_non_stream_text_has_the_recorded_keys(sbx, upstream) -> None:
    recorded = upstream("gemini/nonstream_text.json")
    reply = await sbx.gemini("gemini-2.5-flash", recorded["request"]["body"])
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=UTF-8"
    body, expected = reply.json(), recorded["response"]["body"]
    assert set(body) == set(expected)
    assert set(body["candidates"][0]) == set(expected["candidates"][0])
    assert set(body["usageMetadata"]) >= set(expected["usageMetadata"])
    assert body["modelVersion"] == "gemini-2.5-flash"
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert "Hello!" in body["candidates"][0]["content"]["parts"][0]["text"]
    check_usage(body["usageMetadata"])


async def test_stream_text_framing_and_cumulative_usage(sbx, upstream) -> None:
    recorded = upstream("gemini/stream_text.json")
    reply = await sbx.gemini("gemini-2.5-flash", recorded["request"]["body"], stream=True)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/event-stream"
    assert reply.headers["Content-Disposition"] == "attachment"
    assert "[DONE]" not in reply.text and "event:" not in reply.text
    assert '"candidates": [{' in reply.text and '}],"usageMetadata": {' in reply.text, "Google's JSON spacing"
    chunks = reply.gemini_chunks()
    assert len(chunks) >= 3
    expected_keys = set(recorded_chunks(recorded)[0])
    previous = 0
    for i, chunk in enumerate(chunks):
        assert set(chunk) == expected_keys
        assert chunk["responseId"] == chunks[0]["responseId"] and chunk["modelVersion"] == "gemini-2.5-flash"
        candidate = chunk["candidates"][0]
        assert ("finishReason" in candidate) == (i == len(chunks) - 1)
        usage = chunk["usageMetadata"]
        check_usage(usage)
        assert usage["candidatesTokenCount"] >= previous
        previous = usage["candidatesTokenCount"]


async def test_stream_usage_equals_non_stream_usage(sbx) -> None:
    for model, request in (
        ("gemini-2.5-flash", ask("Tell me about Oslo")),
        ("gemini-2.5-pro", ask("Think about it", generationConfig={"thinkingConfig": {"includeThoughts": True}})),
        ("gemini-3-flash-preview", ask("call get_weather", tools=tools(WEATHER))),
    ):
        plain = (await sbx.gemini(model, request)).json()
        chunks = (await sbx.gemini(model, request, stream=True)).gemini_chunks()
        assert chunks[-1]["usageMetadata"] == plain["usageMetadata"], model
        text = "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"].get("parts", []))
        plain_text = "".join(p.get("text", "") for p in plain["candidates"][0]["content"]["parts"])
        assert text == plain_text


async def test_thoughts_come_first_and_are_counted(sbx) -> None:
    request = ask("Explain tides", generationConfig={"thinkingConfig": {"includeThoughts": True}})
    chunks = (await sbx.gemini("gemini-2.5-pro", request, stream=True)).gemini_chunks()
    kinds = [bool(c["candidates"][0]["content"]["parts"][0].get("thought")) for c in chunks]
    assert kinds[0] is True and kinds[-1] is False
    assert kinds == sorted(kinds, reverse=True), "thought parts precede the answer"
    assert chunks[-1]["usageMetadata"]["thoughtsTokenCount"] > 0
    hidden = (await sbx.gemini("gemini-2.5-flash", ask("Explain tides"))).json()
    assert all("thought" not in p for p in hidden["candidates"][0]["content"]["parts"])
    assert hidden["usageMetadata"]["thoughtsTokenCount"] > 0
    off = (
        await sbx.gemini("gemini-2.5-flash", ask("Hi", generationConfig={"thinkingConfig": {"thinkingBudget": 0}}))
    ).json()
    assert "thoughtsTokenCount" not in off["usageMetadata"]


async def test_gemini3_function_call_stream_matches_the_recording(sbx, upstream) -> None:
    recorded = upstream("gemini/stream_function_call.json")
    reply = await sbx.gemini("gemini-3-pro-preview", recorded["request"]["body"], stream=True)
    chunks = reply.gemini_chunks()
    expected = recorded_chunks(recorded)
    assert len(chunks) == len(expected) == 2
    part = chunks[0]["candidates"][0]["content"]["parts"][0]
    assert set(part) == set(expected[0]["candidates"][0]["content"]["parts"][0]) == {"functionCall", "thoughtSignature"}
    assert part["functionCall"] == {"name": "get_country", "args": {}}
    assert chunks[1]["candidates"][0]["content"]["parts"] == [{"text": ""}]
    assert chunks[1]["candidates"][0]["finishReason"] == "STOP"


async def test_parallel_calls_per_model_generation(sbx) -> None:
    request = ask("Call get_weather and get_time", tools=tools(WEATHER, TIME))
    three = (await sbx.gemini("gemini-3.5-flash", request, stream=True)).gemini_chunks()
    calls = [c["candidates"][0]["content"]["parts"][0] for c in three[:-1]]
    assert [p["functionCall"]["name"] for p in calls] == ["get_weather", "get_time"]
    assert "thoughtSignature" in calls[0] and "thoughtSignature" not in calls[1]
    assert all(len(p["functionCall"]["id"]) == 8 for p in calls)
    jsonschema.validate(calls[1]["functionCall"]["args"], TIME["parametersJsonSchema"])
    old = (await sbx.gemini("gemini-2.0-flash", request, stream=True)).gemini_chunks()
    assert len(old) == 1
    parts = old[0]["candidates"][0]["content"]["parts"]
    assert [p["functionCall"]["name"] for p in parts] == ["get_weather", "get_time"]
    assert all("id" not in p["functionCall"] and "thoughtSignature" not in p for p in parts)
    assert old[0]["candidates"][0]["finishReason"] == "STOP"
    many = (await sbx.gemini("gemini-2.5-flash", ask("call 4 parallel get_weather", tools=tools(WEATHER)))).json()
    assert len(many["candidates"][0]["content"]["parts"]) == 4


async def test_forced_function_calling_modes(sbx) -> None:
    any_mode = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}
    forced = (
        await sbx.gemini("gemini-2.5-flash", ask("Hello", tools=tools(WEATHER, TIME), toolConfig=any_mode))
    ).json()
    assert [p["functionCall"]["name"] for p in forced["candidates"][0]["content"]["parts"]] == ["get_time"]
    none_mode = {"functionCallingConfig": {"mode": "NONE"}}
    text = (
        await sbx.gemini("gemini-2.5-flash", ask("call get_weather", tools=tools(WEATHER), toolConfig=none_mode))
    ).json()
    assert "text" in text["candidates"][0]["content"]["parts"][0]


async def test_function_response_followup_quotes_the_result(sbx, upstream) -> None:
    recorded = upstream("gemini/stream_function_response_followup.json")["request"]
    reply = await sbx.gemini("gemini-3-pro-preview", recorded["body"], stream=True)
    text = "".join(p.get("text", "") for c in reply.gemini_chunks() for p in c["candidates"][0]["content"]["parts"])
    assert "Mexico" in text
    assert "thoughtSignature" in reply.gemini_chunks()[-1]["candidates"][0]["content"]["parts"][-1]


async def test_max_tokens(sbx, upstream) -> None:
    recorded = upstream("gemini/nonstream_max_tokens.json")["request"]["body"]
    cut = (await sbx.gemini("gemini-2.5-flash", recorded)).json()
    assert cut["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert cut["usageMetadata"]["candidatesTokenCount"] == 5
    no_parts = upstream("gemini/nonstream_max_tokens_thinking_no_parts.json")["request"]["body"]
    exhausted = (await sbx.gemini("gemini-2.5-pro", no_parts)).json()
    assert exhausted["candidates"][0]["content"] == {"role": "model"}
    assert exhausted["usageMetadata"]["thoughtsTokenCount"] == 5
    marked = (await sbx.gemini("gemini-2.5-pro", ask("go [[max_tokens]]"), stream=True)).gemini_chunks()
    assert marked[-1]["candidates"][0] == {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}
    plain = (await sbx.gemini("gemini-2.0-flash", ask("go [[max_tokens]]"))).json()
    assert plain["candidates"][0]["finishReason"] == "MAX_TOKENS" and plain["candidates"][0]["content"]["parts"]


async def test_safety_and_blocked_markers(sbx, upstream) -> None:
    safety = (await sbx.gemini("gemini-2.5-flash", ask("joke [[safety]]"))).json()
    expected = upstream("gemini/nonstream_safety_blocked.json")["response"]["body"]["candidates"][0]
    candidate = safety["candidates"][0]
    assert candidate["content"] == {} and candidate["finishReason"] == "SAFETY"
    assert set(candidate) - {"index"} == set(expected)  # the gemini-1.5 recording has no index
    assert any(r.get("blocked") for r in candidate["safetyRatings"])
    blocked = (await sbx.gemini("gemini-2.5-flash", ask("joke [[blocked]]"))).json()
    assert "candidates" not in blocked
    assert blocked["promptFeedback"]["blockReason"] == "SAFETY"
    streamed = (await sbx.gemini("gemini-2.5-flash", ask("joke [[blocked]]"), stream=True)).gemini_chunks()
    assert len(streamed) == 1 and streamed[0]["promptFeedback"]["blockReason"] == "SAFETY"


async def test_json_responses_follow_the_schema(sbx, upstream) -> None:
    recorded = upstream("gemini/nonstream_json_response_json_schema.json")["request"]["body"]
    reply = (await sbx.gemini("gemini-2.5-flash", recorded)).json()
    text = reply["candidates"][0]["content"]["parts"][0]["text"]
    jsonschema.validate(json.loads(text), recorded["generationConfig"]["responseJsonSchema"])
    mime_only = ask("Give me data", generationConfig={"responseMimeType": "application/json"})
    parsed = json.loads(
        (await sbx.gemini("gemini-2.0-flash", mime_only)).json()["candidates"][0]["content"]["parts"][0]["text"]
    )
    assert isinstance(parsed, dict)


async def test_candidate_count_and_stop_sequences(sbx) -> None:
    two = (await sbx.gemini("gemini-2.0-flash", ask("Hi", generationConfig={"candidateCount": 2}))).json()
    assert [c["index"] for c in two["candidates"]] == [0, 1]
    texts = [c["content"]["parts"][0]["text"] for c in two["candidates"]]
    assert texts[0] != texts[1]
    one = (await sbx.gemini("gemini-2.0-flash", ask("Hi"))).json()
    assert two["usageMetadata"]["candidatesTokenCount"] > one["usageMetadata"]["candidatesTokenCount"]
    streamed = await sbx.gemini("gemini-2.0-flash", ask("Hi", generationConfig={"candidateCount": 2}), stream=True)
    chunks = streamed.gemini_chunks()
    assert {c["candidates"][0]["index"] for c in chunks} == {0, 1}
    assert chunks[-1]["usageMetadata"] == two["usageMetadata"]
    stopped = (
        await sbx.gemini("gemini-2.0-flash", ask("x [[stop:HALT]]", generationConfig={"stopSequences": ["HALT"]}))
    ).json()
    assert stopped["candidates"][0]["finishReason"] == "STOP"
    assert "HALT" not in stopped["candidates"][0]["content"]["parts"][0]["text"]


async def test_implicit_cache_hit_on_a_repeated_long_prefix(sbx) -> None:
    system = {"parts": [{"text": "You are a meticulous assistant. " * 200}]}
    first = (await sbx.gemini("gemini-2.5-flash", ask("First question", systemInstruction=system))).json()
    second = (await sbx.gemini("gemini-2.5-flash", ask("Second question", systemInstruction=system))).json()
    assert "cachedContentTokenCount" not in first["usageMetadata"]
    usage = second["usageMetadata"]
    assert 0 < usage["cachedContentTokenCount"] < usage["promptTokenCount"]
    assert usage["cacheTokensDetails"] == [{"modality": "TEXT", "tokenCount": usage["cachedContentTokenCount"]}]


async def test_stream_without_sse_is_a_json_array(sbx) -> None:
    reply = await sbx.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", ask("Hi"), {"x-goog-api-key": "k"})
    chunks = reply.json()
    assert isinstance(chunks, list) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_image_tokens_are_reported_by_modality(sbx, upstream) -> None:
    recorded = upstream("gemini/nonstream_image_inline_input.json")["request"]["body"]
    usage = (await sbx.gemini("gemini-2.5-flash", recorded)).json()["usageMetadata"]
    modalities = {d["modality"]: d["tokenCount"] for d in usage["promptTokensDetails"]}
    assert modalities["IMAGE"] == 258 and modalities["TEXT"] > 0


async def test_logprobs_cover_every_answer_token(sbx) -> None:
    request = ask("Hi there", generationConfig={"responseLogprobs": True, "logprobs": 3})
    plain = (await sbx.gemini("gemini-2.5-flash", request)).json()["candidates"][0]
    text = plain["content"]["parts"][0]["text"]
    result = plain["logprobsResult"]
    assert "".join(c["token"] for c in result["chosenCandidates"]) == text
    assert all(len(top["candidates"]) == 3 for top in result["topCandidates"])
    assert all(
        top["candidates"][0] == chosen
        for top, chosen in zip(result["topCandidates"], result["chosenCandidates"], strict=True)
    )
    assert plain["avgLogprobs"] < 0
    chunks = (await sbx.gemini("gemini-2.5-flash", request, stream=True)).gemini_chunks()
    streamed = [c for chunk in chunks for c in chunk["candidates"][0]["logprobsResult"]["chosenCandidates"]]
    assert streamed == result["chosenCandidates"]
    off = (await sbx.gemini("gemini-2.5-flash", ask("Hi there"))).json()["candidates"][0]
    assert "logprobsResult" not in off and "avgLogprobs" not in off
    bad = await sbx.gemini("gemini-2.5-flash", ask("Hi", generationConfig={"logprobs": 3}))
    assert bad.status == 400
