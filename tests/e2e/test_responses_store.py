"""Stored responses end to end: ``previous_response_id``, ``GET /v1/responses/{id}``, ``.../input_items``,
``DELETE``, tenancy (a key reads only its own responses), ``store: false``, and two replicas on PostgreSQL
continuing each other's conversations with no lag (stored responses and the shared sealing key)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.responses_api import REASONING, create, error_body, raw_create
from support.servers import Gateway, postgres_replicas

MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}


def admin(gw: Gateway, method: str, path: str, **kw: Any) -> httpx.Response:
    r = httpx.request(method, gw.url + "/admin/v1" + path, headers={"Authorization": f"Bearer {gw.admin_key}"}, **kw)
    assert r.status_code < 300, r.text
    return r


def new_key(gw: Gateway) -> tuple[str, str]:
    body = admin(gw, "POST", "/keys", json={"name": "responses"}).json()
    return body["id"], body["key"]


def upstream(sandbox: httpx.Client, model: str) -> dict[str, Any]:
    provider = "anthropic" if model.startswith("anthropic/") else "google"
    return dict(sandbox.get("/_sandbox/requests", params={"provider": provider}).json()["requests"][-1]["body"])


@pytest.mark.parametrize("model", MODELS)
def test_previous_response_id_continues_the_conversation(
    client: openai.OpenAI, sandbox: httpx.Client, model: str
) -> None:
    first = create(client, model=model, input="My name is Ada.", instructions="Be terse.", metadata={"k": "v"})
    assert first.store is True and first.metadata == {"k": "v"}
    second = create(client, model=model, input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    sent = json.dumps(upstream(sandbox, model))
    assert "My name is Ada." in sent and first.output_text[:20] in sent and "What is my name?" in sent
    assert "Be terse." not in sent  # instructions are not carried over
    with client.responses.stream(model=model, input="And my age?", previous_response_id=second.id) as stream:
        third = [e for e in stream][-1].response
    sent = json.dumps(upstream(sandbox, model))
    assert all(text in sent for text in ("My name is Ada.", "What is my name?", "And my age?"))
    assert client.responses.retrieve(third.id).output_text == third.output_text


@pytest.mark.parametrize("model", MODELS)
def test_tool_loop_by_previous_response_id_keeps_reasoning_state(
    client: openai.OpenAI, sandbox: httpx.Client, model: str
) -> None:
    """No output items and no encrypted content are sent back: the stored conversation carries the state."""
    reply = create(client, model=model, input="Use get_weather for Oslo.", tools=[WEATHER], reasoning=REASONING)
    for turn in range(3):
        calls = [o for o in reply.output if o.type == "function_call"]
        assert all(not getattr(o, "encrypted_content", None) for o in reply.output)  # not asked for
        if not calls:
            break
        outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": f"fog {turn}"} for c in calls]
        reply = create(
            client, model=model, input=outputs, previous_response_id=reply.id, tools=[WEATHER], reasoning=REASONING
        )
    assert "fog 0" in reply.output_text
    body = upstream(sandbox, model)
    if model.startswith("anthropic/"):
        assistant = [m for m in body["messages"] if m["role"] == "assistant"]
        assert assistant and assistant[0]["content"][0]["type"] == "thinking"
    else:
        calls = [p for c in body["contents"] if c["role"] == "model" for p in c["parts"] if "functionCall" in p]
        assert calls and calls[0].get("thoughtSignature") not in (None, "skip_thought_signature_validator")


def test_get_input_items_and_delete(client: openai.OpenAI) -> None:
    model = MODELS[1]
    items = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
        {"role": "assistant", "content": "noted"},
        {"role": "user", "content": "second"},
    ]
    created = create(client, model=model, input=items)
    got = client.responses.retrieve(created.id)
    assert got.id == created.id and got.output_text == created.output_text and got.usage == created.usage
    listed: Any = client.responses.input_items.list(created.id)
    texts = [item.content[0].text for item in listed.data]
    assert texts == ["second", "noted", "first", "Answer briefly."]  # newest first by default
    assert all(item.id for item in listed.data)
    page: Any = client.responses.input_items.list(created.id, order="asc", limit=2)
    assert [i.content[0].text for i in page.data] == ["Answer briefly.", "first"] and page.has_more
    rest: Any = client.responses.input_items.list(created.id, order="asc", after=page.data[-1].id)
    assert [i.content[0].text for i in rest.data] == ["noted", "second"] and not rest.has_more
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as info:
        create(client, model=model, input="more", previous_response_id=created.id)
    assert error_body(info.value)["param"] == "previous_response_id"


def test_a_key_reads_only_its_own_responses(gateway: Gateway, client: openai.OpenAI) -> None:
    created = create(client, model=MODELS[1], input="private")
    _, other_key = new_key(gateway)
    other = openai.OpenAI(base_url=gateway.v1, api_key=other_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        create(other, model=MODELS[1], input="continue", previous_response_id=created.id)
    assert client.responses.retrieve(created.id).output_text == created.output_text  # still there


def test_another_keys_encrypted_content_does_not_open(gateway: Gateway, client: openai.OpenAI) -> None:
    model = MODELS[0]
    first = create(
        client,
        model=model,
        input="Use get_weather.",
        tools=[WEATHER],
        reasoning=REASONING,
        store=False,
        include=["reasoning.encrypted_content"],
    )
    items = [o.model_dump(exclude_none=True) for o in first.output]
    _, other_key = new_key(gateway)
    other = openai.OpenAI(base_url=gateway.v1, api_key=other_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        create(other, model=model, input=[{"role": "user", "content": "Use get_weather."}, *items], tools=[WEATHER])
    assert error_body(info.value)["code"] == "invalid_encrypted_content"


def test_store_false_keeps_only_the_ledger_record(gateway: Gateway, client: openai.OpenAI) -> None:
    raw = raw_create(client, model=MODELS[1], input="ephemeral", store=False)
    created = raw.parse()
    assert created.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    rows = admin(gateway, "GET", "/requests", params={"limit": 1000}).json()["data"]
    [row] = [r for r in rows if r["request_id"] == raw.headers["x-request-id"]]
    assert row["status"] == 200 and row["model"] == MODELS[1] and float(row["cost"]) > 0


@pytest.fixture(scope="module")
def replicas(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    data_dir = Path(tmp_path_factory.mktemp("responses_replicas"))
    with postgres_replicas(data_dir, sandbox_url, "responses_" + secrets.token_hex(4)) as pair:
        yield pair


@pytest.mark.parametrize("model", MODELS)
def test_replicas_continue_each_others_conversations_at_once(replicas: tuple[Gateway, Gateway], model: str) -> None:
    a, b = (openai.OpenAI(base_url=gw.v1, api_key=replicas[0].key, max_retries=0) for gw in replicas)
    reply = create(a, model=model, input="Use get_weather for Oslo.", tools=[WEATHER], reasoning=REASONING)
    [call] = [o for o in reply.output if o.type == "function_call"]
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "hail"}
    continued = create(
        b, model=model, input=[output], previous_response_id=reply.id, tools=[WEATHER], reasoning=REASONING
    )
    assert "hail" in continued.output_text
    assert a.responses.retrieve(continued.id).id == continued.id
    stateless = create(
        a,
        model=model,
        input="Use get_weather for Rome.",
        tools=[WEATHER],
        reasoning=REASONING,
        store=False,
        include=["reasoning.encrypted_content"],
    )
    [call] = [o for o in stateless.output if o.type == "function_call"]
    history = [
        {"role": "user", "content": "Use get_weather for Rome."},
        *[o.model_dump(exclude_none=True) for o in stateless.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sleet"},
    ]
    answered = create(b, model=model, input=history, tools=[WEATHER], reasoning=REASONING, store=False)
    assert "sleet" in answered.output_text
