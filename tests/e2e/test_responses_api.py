"""The Responses API end to end with the official ``openai`` SDK (``responses.create`` / ``responses.stream``)
against the gateway and sandbox processes, on a Claude and a Gemini model.

Every body and event the gateway sends is validated against the official schemas and the event order is
checked by a state machine (``support.responses_schema``, through the ``client`` fixture's recorder).
Sonnet 4.5 may be answered by its successor (the catalog retires it): assertions hold either way.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.recording import Recorder
from support.responses_api import REASONING, create, error_body, raw_create
from support.responses_schema import EventGrammar, sse_events

MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]
PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f80f0000010100005f1a0e2a0000000049454e44ae426082"
    )
).decode()
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Local time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
STATE = ["reasoning.encrypted_content"]


def provider_of(model: str) -> str:
    return "anthropic" if model.startswith("anthropic/") else "google"


def upstream(sandbox: httpx.Client, model: str) -> list[dict[str, Any]]:
    return list(sandbox.get("/_sandbox/requests", params={"provider": provider_of(model)}).json()["requests"])


def items_of(response: Any) -> list[dict[str, Any]]:
    """Output items as the client sends them back (every field the gateway gave)."""
    return [item.model_dump(exclude_none=True) for item in response.output]


def streamed(client: openai.OpenAI, **kw: Any) -> tuple[list[Any], Any]:
    with client.responses.stream(**kw) as stream:
        events = list(stream)
        final = stream.get_final_response()
    return events, final


@pytest.mark.parametrize("model", MODELS)
def test_text_with_instructions(client: openai.OpenAI, sandbox: httpx.Client, model: str) -> None:
    raw = raw_create(client, model=model, input="Say hello", instructions="Be brief.")
    response = raw.parse()
    assert response.status == "completed" and response.object == "response"
    assert response.id.startswith("resp_") and response.model.startswith(model.split("/")[0])
    assert 'you said "Say hello"' in response.output_text
    [message] = response.output
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens_details.reasoning_tokens >= 0 and usage.input_tokens_details.cached_tokens == 0
    assert raw.headers["x-opentoken-provider"] == provider_of(model)
    assert float(raw.headers["x-opentoken-cost-usd"]) > 0
    sent = upstream(sandbox, model)[-1]["body"]
    system = sent.get("system") or sent["systemInstruction"]["parts"][0]["text"]
    assert "Be brief." in json.dumps(system)


@pytest.mark.parametrize("model", MODELS)
def test_stream_matches_create(client: openai.OpenAI, recorder: Recorder, model: str) -> None:
    events, final = streamed(client, model=model, input="Name a colour", reasoning=REASONING)
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert "response.output_text.delta" in types and "response.reasoning_summary_text.delta" in types
    first_delta = types.index("response.output_text.delta")
    assert types.index("response.output_item.added") < first_delta
    assert types.index("response.content_part.added") < first_delta
    whole = create(client, model=model, input="Name a colour", reasoning=REASONING)
    assert final.output_text == whole.output_text
    assert [o.type for o in final.output] == [o.type for o in whole.output]
    assert final.output[0].summary[0].text == whole.output[0].summary[0].text
    assert final.usage is not None and final.usage.output_tokens == whole.usage.output_tokens
    stream_bodies = [e for e in recorder.exchanges if e.content_type.startswith("text/event-stream")]
    grammar = EventGrammar()
    for _, data in sse_events(stream_bodies[-1].body):
        grammar.feed(data)
    grammar.close()
    assert grammar.final is not None and grammar.final["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_multi_turn_by_sending_output_items_back(client: openai.OpenAI, sandbox: httpx.Client, model: str) -> None:
    first = create(client, model=model, input="My name is Ada.", store=False)
    history = [{"role": "user", "content": "My name is Ada."}, *items_of(first)]
    second = create(client, model=model, input=[*history, {"role": "user", "content": "What is my name?"}], store=False)
    assert 'you said "What is my name?"' in second.output_text
    sent = json.dumps(upstream(sandbox, model)[-1]["body"])
    assert "My name is Ada." in sent and first.output_text[:20] in sent
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)  # store: false keeps nothing


@pytest.mark.parametrize("model", MODELS)
def test_parallel_function_calls(client: openai.OpenAI, model: str) -> None:
    response = create(
        client,
        model=model,
        input="Call get_weather and get_time for Oslo, in parallel.",
        tools=[WEATHER, TIME],
        parallel_tool_calls=True,
    )
    calls = [o for o in response.output if o.type == "function_call"]
    assert {c.name for c in calls} == {"get_weather", "get_time"}
    assert len({c.call_id for c in calls}) == 2 and all(c.status == "completed" for c in calls)
    assert all(isinstance(json.loads(c.arguments)["city"], str) for c in calls)
    events, final = streamed(
        client, model=model, input="Call get_weather and get_time for Oslo, in parallel.", tools=[WEATHER, TIME]
    )
    assert [o.name for o in final.output if o.type == "function_call"] == [c.name for c in calls]
    assert sum(e.type == "response.function_call_arguments.done" for e in events) == 2


PROMPTS = ("Use get_weather to check Oslo.", "Use get_weather again, for Bergen.")


def _tool_loop(client: openai.OpenAI, model: str, stream: bool, **kw: Any) -> list[Any]:
    """Two user turns, each a tool call then an answer from its result: four requests, each sending every
    earlier output item back (store: false), so the provider state of each turn must survive the next."""
    history: list[Any] = []
    replies = []
    for n, prompt in enumerate(PROMPTS):
        history.append({"role": "user", "content": prompt})
        for _ in range(2):
            args = {"model": model, "input": history, "tools": [WEATHER], "reasoning": REASONING, **kw}
            reply = streamed(client, **args)[1] if stream else create(client, **args)
            replies.append(reply)
            history += items_of(reply)
            calls = [o for o in reply.output if o.type == "function_call"]
            if not calls:
                break
            history += [
                {"type": "function_call_output", "call_id": c.call_id, "output": f"rain, turn {n}"} for c in calls
            ]
    assert len(replies) == 4, [r.output_text for r in replies]
    return replies


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_three_turn_tool_loop_keeps_reasoning_state_in_encrypted_content(
    client: openai.OpenAI, sandbox: httpx.Client, model: str, stream: bool
) -> None:
    replies = _tool_loop(client, model, stream, store=False, include=STATE)
    assert [bool([o for o in r.output if o.type == "function_call"]) for r in replies] == [True, False, True, False]
    for reply in replies:
        carriers = [o for o in reply.output if o.type == "reasoning" and o.encrypted_content]
        assert len(carriers) == 1 and carriers[0].encrypted_content.startswith("ot1.")
        assert reply.output[-1] is carriers[0]
        assert [o for o in reply.output if o.type == "reasoning" and o.summary], "a summary of the thinking"
    assert "rain, turn 0" in replies[1].output_text and "rain, turn 1" in replies[-1].output_text
    body = upstream(sandbox, model)[-1]["body"]
    if model.startswith("anthropic/"):
        turns = [m for m in body["messages"] if m["role"] == "assistant"]
        assert all(t["content"][0]["type"] == "thinking" and t["content"][0]["signature"] for t in turns)
    else:
        turns = [c for c in body["contents"] if c["role"] == "model"]
        calls = [p for t in turns for p in t["parts"] if "functionCall" in p]
        assert calls and all(p.get("thoughtSignature") not in (None, "skip_thought_signature_validator") for p in calls)


def test_encrypted_content_alone_restores_anthropic_thinking(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    """New call ids defeat the server-side replay store: only the sealed state can bring the thinking back,
    and without it the (signature-checking) upstream refuses the tool loop. On a model with budget thinking,
    which requires the thinking block back (adaptive thinking, Claude 4.6 on, does not)."""
    model = "anthropic/claude-haiku-4-5"
    first = create(
        client,
        model=model,
        input="Use get_weather for Oslo.",
        tools=[WEATHER],
        reasoning=REASONING,
        store=False,
        include=STATE,
    )
    [call] = [o for o in first.output if o.type == "function_call"]
    items = items_of(first)
    for item in items:
        if item["type"] == "function_call":
            item["call_id"] = "call_renamed_by_client"
    answer = {"type": "function_call_output", "call_id": "call_renamed_by_client", "output": "sunny"}
    base: list[Any] = [{"role": "user", "content": "Use get_weather for Oslo."}]
    second = create(
        client,
        model=model,
        input=[*base, *items, answer],
        tools=[WEATHER],
        reasoning=REASONING,
        store=False,
        include=STATE,
    )
    assert "sunny" in second.output_text and call.call_id != "call_renamed_by_client"
    sent = upstream(sandbox, model)[-1]["body"]["messages"][1]["content"]
    assert sent[0]["type"] == "thinking" and sent[0]["signature"]
    without = [i for i in items if i["type"] != "reasoning"]
    with pytest.raises(openai.BadRequestError):
        create(client, model=model, input=[*base, *without, answer], tools=[WEATHER], reasoning=REASONING, store=False)


def test_gemini_text_signature_rides_in_encrypted_content(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    model = MODELS[1]
    first = create(client, model=model, input="Hello there", store=False, include=STATE)
    carriers = [o for o in first.output if o.type == "reasoning" and o.encrypted_content]
    assert carriers, "Gemini 3 signs its reply: the state comes back sealed"
    history = [{"role": "user", "content": "Hello there"}, *items_of(first), {"role": "user", "content": "Again"}]
    create(client, model=model, input=history, store=False)
    model_turn = next(c for c in upstream(sandbox, model)[-1]["body"]["contents"] if c["role"] == "model")
    assert any(p.get("thoughtSignature") for p in model_turn["parts"])


@pytest.mark.parametrize("model", MODELS)
def test_tampered_or_foreign_encrypted_content_is_a_400_naming_it(client: openai.OpenAI, model: str) -> None:
    first = create(
        client,
        model=model,
        input="Use get_weather for Oslo.",
        tools=[WEATHER],
        reasoning=REASONING,
        store=False,
        include=STATE,
    )
    items = items_of(first)
    index = next(i for i, item in enumerate(items) if item.get("encrypted_content"))
    token = items[index]["encrypted_content"]
    items[index]["encrypted_content"] = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    history = [{"role": "user", "content": "Use get_weather for Oslo."}, *items]
    with pytest.raises(openai.BadRequestError) as info:
        create(client, model=model, input=history, tools=[WEATHER], store=False)
    assert error_body(info.value)["param"] == f"input[{index + 1}].encrypted_content"
    assert error_body(info.value)["code"] == "invalid_encrypted_content"


@pytest.mark.parametrize("model", MODELS)
def test_json_schema_output(client: openai.OpenAI, sandbox: httpx.Client, model: str) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    response = create(
        client,
        model=model,
        input="Give me a city.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    value = json.loads(response.output_text)
    assert isinstance(value["city"], str) and isinstance(value["population"], int)
    assert response.text.format.type == "json_schema"
    plain = create(client, model=model, input="Reply in JSON [[json]]", text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(plain.output_text), dict)
    sent = json.dumps(upstream(sandbox, model)[-1]["body"])
    assert ("application/json" in sent) if model.startswith("google/") else ("JSON object" in sent)


@pytest.mark.parametrize("model", MODELS)
def test_image_input(client: openai.OpenAI, sandbox: httpx.Client, model: str) -> None:
    content = [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_1PX}", "detail": "auto"},
    ]
    response = create(client, model=model, input=[{"role": "user", "content": content}])
    assert response.status == "completed" and response.output_text
    sent = json.dumps(upstream(sandbox, model)[-1]["body"])
    assert PNG_1PX in sent


@pytest.mark.parametrize("model", MODELS)
def test_custom_and_namespace_tools_round_trip(client: openai.OpenAI, sandbox: httpx.Client, model: str) -> None:
    patch = {"type": "custom", "name": "apply_patch", "description": "Apply a patch."}
    namespace = {
        "type": "namespace",
        "name": "agents",
        "description": "Agent tools.",
        "tools": [{**WEATHER, "name": "spawn"}],
    }
    first = create(client, model=model, input="Use apply_patch now.", tools=[patch, namespace])
    [custom] = [o for o in first.output if o.type == "custom_tool_call"]
    assert custom.name == "apply_patch" and isinstance(custom.input, str) and custom.input
    second = create(client, model=model, input="Call agents__spawn now.", tools=[patch, namespace])
    [call] = [o for o in second.output if o.type == "function_call"]
    assert call.name == "spawn" and call.namespace == "agents"
    sent_tools = json.dumps(upstream(sandbox, model)[-1]["body"])
    assert "agents__spawn" in sent_tools
    history = [
        {"role": "user", "content": "Use apply_patch now."},
        *items_of(first),
        {"type": "custom_tool_call_output", "call_id": custom.call_id, "output": "patched 3 files"},
    ]
    third = create(client, model=model, input=history, tools=[patch, namespace])
    assert "patched 3 files" in third.output_text


@pytest.mark.parametrize("model", MODELS)
def test_errors_in_openai_shape(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        create(client, model="google/no-such-model", input="hi")
    assert error_body(info.value)["code"] == "model_not_found"
    bad = [{"type": "function_call_output", "output": "x"}]
    with pytest.raises(openai.BadRequestError) as info:
        create(client, model=model, input=bad)
    assert error_body(info.value)["param"] == "input[0].call_id"
    orphan = [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "[1]"},
    ]
    with pytest.raises(openai.BadRequestError) as info:
        create(client, model=model, input=orphan)
    assert error_body(info.value)["param"] == "input[1].arguments"
    with pytest.raises(openai.BadRequestError) as info:
        create(client, model=model, input="hi", max_output_tokens=10_000_000)
    assert error_body(info.value)["param"] == "max_output_tokens"
    with pytest.raises(openai.NotFoundError) as nf:
        create(client, model=model, input="hi", previous_response_id="resp_does_not_exist")
    assert error_body(nf.value)["param"] == "previous_response_id"


@pytest.mark.parametrize("model", MODELS)
def test_failure_mid_stream_is_an_error_event_then_response_failed(
    client: openai.OpenAI, sandbox: httpx.Client, model: str
) -> None:
    sandbox.post("/_sandbox/faults", json={"count": 1, "provider": provider_of(model), "after_events": 8})
    events, failed = [], None
    with client.responses.stream(model=model, input="Tell me a long story") as stream:
        for event in stream:
            events.append(event.type)
            if event.type == "response.failed":
                failed = event.response
    assert events[0] == "response.created" and events[-2:] == ["error", "response.failed"]
    assert failed is not None and failed.status == "failed" and failed.error is not None


@pytest.mark.parametrize("model", MODELS)
def test_max_output_tokens_gives_an_incomplete_response(client: openai.OpenAI, model: str) -> None:
    response = create(client, model=model, input="Say a lot [[max_tokens]]")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    events = []
    with client.responses.stream(model=model, input="Say a lot [[max_tokens]]") as stream:
        events = [event for event in stream]
    assert events[-1].type == "response.incomplete" and events[-1].response.status == "incomplete"


def test_unknown_fields_and_codex_extras_are_accepted_and_reported(client: openai.OpenAI) -> None:
    raw = raw_create(
        client,
        model=MODELS[1],
        input="hi",
        extra_body={"client_metadata": {"session_id": "s"}, "some_future_field": 1},
        text={"format": {"type": "text"}, "verbosity": "low"},
    )
    ignored = raw.headers["x-opentoken-ignored-params"].split(",")
    assert {"client_metadata", "some_future_field", "text.verbosity"} <= set(ignored)


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_web_search_runs_on_the_providers_own_search(
    client: openai.OpenAI, sandbox: httpx.Client, model: str, stream: bool
) -> None:
    args = {"model": model, "input": "Search the web for tide tables in Oslo.", "tools": [{"type": "web_search"}]}
    response = streamed(client, **args)[1] if stream else create(client, **args)
    [search] = [o for o in response.output if o.type == "web_search_call"]
    assert search.status == "completed" and search.action.type == "search" and search.action.query
    assert search.action.sources and all(s.url.startswith("http") for s in search.action.sources)
    assert response.output_text
    sent = upstream(sandbox, model)[-1]["body"]
    if model.startswith("anthropic/"):
        assert {"type": "web_search_20250305", "name": "web_search"} in sent["tools"]
    else:
        assert {"googleSearch": {}} in sent["tools"]


def test_web_search_is_dropped_and_reported_where_the_model_cannot_combine_it(
    client: openai.OpenAI, sandbox: httpx.Client
) -> None:
    """Gemini 2.5 cannot combine Google Search with function declarations: Codex's usual request still works."""
    raw = raw_create(client, model="google/gemini-2.5-flash", input="Hello", tools=[WEATHER, {"type": "web_search"}])
    assert raw.parse().status == "completed"
    assert "web_search" in raw.headers["x-opentoken-adjusted-params"].split(",")
    sent = upstream(sandbox, "google/gemini-2.5-flash")[-1]["body"]
    assert all("googleSearch" not in t for t in sent["tools"])
    chat = client.chat.completions.create(model=MODELS[0], messages=[{"role": "user", "content": "search the web"}])
    assert chat.choices[0].message.content  # chat completions never offer the search


def test_prompt_cache_key_sets_anthropic_cache_breakpoints(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    model = MODELS[0]
    args = {
        "model": model,
        "input": "Summarise the rules.",
        "instructions": "You follow the house rules. " * 40,
        "tools": [WEATHER],
        "prompt_cache_key": "session-1",
    }
    first = create(client, **args)
    sent = upstream(sandbox, model)[-1]["body"]
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    second = create(client, **args)
    assert first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens > 0
    raw = raw_create(client, model=MODELS[1], input="hi", prompt_cache_key="session-1")
    assert "prompt_cache_key" in raw.headers["x-opentoken-adjusted-params"].split(",")
