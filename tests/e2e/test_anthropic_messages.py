"""The Anthropic Messages ingress end to end: the official ``anthropic`` SDK against real gateway and sandbox
processes, on a Claude model (passed through) and a Gemini model (translated). Every response the SDK gets
is validated (``support.anthropic_events``: the SDK's types and the event grammar)."""

from __future__ import annotations

import base64
import http.client
import json
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2 as httpx
import pytest

from support.anthropic_events import check_error, check_exchange, check_stream
from support.recording import Recorder, RecordingTransport
from support.servers import Gateway, run_cli

SONNET = "anthropic/claude-sonnet-4-5"
GEMINI = "google/gemini-3-flash"
MODELS = [SONNET, GEMINI]
DUMMY_SIGNATURE = "skip_thought_signature_validator"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {
    "name": "get_time",
    "description": "Current time in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def family(model: str) -> str:
    """What the reply's ``model`` must contain: Anthropic's model family on a pass-through (the catalog may
    serve a retired Sonnet by its successor), the public id when translated."""
    return "claude-sonnet" if model == SONNET else model


@pytest.fixture
def claude(gateway: Gateway, recorder: Recorder) -> Iterator[anthropic.Anthropic]:
    http_client = httpx.Client(transport=RecordingTransport(recorder), timeout=60)
    yield anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, http_client=http_client, max_retries=0)
    checked = sum(check_exchange(e.path, e.status, e.content_type, e.body) for e in recorder.exchanges)
    assert checked == len(recorder.exchanges), "a response of another route was recorded"
    http_client.close()


def upstream_bodies(sandbox: httpx.Client) -> list[dict[str, Any]]:
    return [r["body"] for r in sandbox.get("/_sandbox/requests").json()["requests"]]


def png() -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one red pixel
    image = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    image += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return base64.b64encode(image).decode()


PDF = base64.b64encode(
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
).decode()


# ---- text, system blocks, multi-turn, stream and not ----------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_text_with_system_blocks(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    system: Any = [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Answer in English.", "cache_control": {"type": "ephemeral"}},
    ]
    raw = claude.messages.with_raw_response.create(
        model=model, max_tokens=300, system=system, messages=[{"role": "user", "content": "Say hello"}]
    )
    msg = raw.parse()
    assert msg.stop_reason == "end_turn" and family(model) in msg.model
    assert msg.content[0].type == "text" and 'you said "Say hello"' in msg.content[0].text
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    assert raw.headers["x-opentoken-provider"] == model.split("/")[0]
    (sent,) = upstream_bodies(sandbox)
    if model == SONNET:
        assert sent["system"] == system  # passed through: cache_control and all
        assert raw.headers.get("x-opentoken-ignored-params") is None
    else:
        assert [p["text"] for p in sent["systemInstruction"]["parts"]] == ["You are terse.", "Answer in English."]
        assert "system.cache_control" in raw.headers["x-opentoken-ignored-params"]


@pytest.mark.parametrize("model", MODELS)
def test_stream_gives_the_same_message(claude: anthropic.Anthropic, model: str) -> None:
    messages: Any = [{"role": "user", "content": "Tell me about streams"}]
    whole = claude.messages.create(model=model, max_tokens=300, messages=messages)
    with claude.messages.stream(model=model, max_tokens=300, messages=messages) as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in whole.content]
    assert streamed.stop_reason == whole.stop_reason == "end_turn"
    assert streamed.usage.output_tokens == whole.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_multi_turn(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    msg = claude.messages.create(
        model=model,
        max_tokens=300,
        messages=[
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]},
        ],
    )
    assert 'you said "What is my name?"' in msg.content[0].text
    (sent,) = upstream_bodies(sandbox)
    turns = sent["messages"] if model == SONNET else sent["contents"]
    assert len(turns) == 3


# ---- tools ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_parallel_tool_calls_stream(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(
        model=model,
        max_tokens=1000,
        tools=[WEATHER, TIME],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Call get_weather and get_time in parallel for Paris"}],
    ) as stream:
        msg = stream.get_final_message()
    calls = [b for b in msg.content if b.type == "tool_use"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert all(isinstance(c.input, dict) and isinstance(c.input["city"], str) for c in calls)
    assert len({c.id for c in calls}) == 2 and msg.stop_reason == "tool_use"


def _thinking_turn(claude: anthropic.Anthropic, model: str, messages: list[Any]) -> anthropic.types.Message:
    with claude.messages.stream(
        model=model,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[WEATHER, TIME],  # type: ignore[list-item]
        messages=messages,
    ) as stream:
        return stream.get_final_message()


@pytest.mark.parametrize("model", MODELS)
def test_three_turn_tool_loop_with_thinking(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    messages: list[Any] = [{"role": "user", "content": "Use get_weather for Paris"}]
    first = _thinking_turn(claude, model, messages)
    thinking = [b for b in first.content if b.type == "thinking"]
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert thinking and thinking[0].thinking and thinking[0].signature
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C, clear"}]},
    ]
    second = _thinking_turn(claude, model, messages)
    assert second.stop_reason == "end_turn"
    assert "18 C, clear" in "".join(b.text for b in second.content if b.type == "text")
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in second.content]},
        {"role": "user", "content": "Now use get_time for Paris"},
    ]
    third = _thinking_turn(claude, model, messages)
    assert [b.name for b in third.content if b.type == "tool_use"] == ["get_time"]
    bodies = upstream_bodies(sandbox)
    assert len(bodies) == 3
    if model == SONNET:  # the thinking block went back byte for byte (the sandbox checks its signature)
        assert bodies[1]["messages"][1]["content"][0] == thinking[0].model_dump(exclude_none=True)
    else:  # Gemini 3 got its real thought signature back on the function call, not the skip value
        for body in bodies[1:]:
            (model_turn,) = [c for c in body["contents"] if c["role"] == "model"][:1]
            call_part = next(p for p in model_turn["parts"] if "functionCall" in p)
            assert call_part.get("thoughtSignature") not in (None, DUMMY_SIGNATURE)


# ---- images, PDF, structured output, counting -------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_image_and_pdf(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    content: Any = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png()}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        {"type": "text", "text": "Describe the image and the document"},
    ]
    msg = claude.messages.create(model=model, max_tokens=300, messages=[{"role": "user", "content": content}])
    assert msg.stop_reason == "end_turn"
    (sent,) = upstream_bodies(sandbox)
    if model == SONNET:
        assert sent["messages"][0]["content"] == content
    else:
        inline = [p["inlineData"]["mimeType"] for p in sent["contents"][0]["parts"] if "inlineData" in p]
        assert inline == ["image/png", "application/pdf"]


@pytest.mark.parametrize("model", MODELS)
def test_output_config_json_schema(claude: anthropic.Anthropic, model: str) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    msg = claude.messages.create(
        model=model,
        max_tokens=500,
        messages=[{"role": "user", "content": "Give me a city as JSON"}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
    )
    value = json.loads(msg.content[0].text)
    assert isinstance(value["city"], str) and isinstance(value["population"], int)


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    sandbox.delete("/_sandbox/requests")
    short = claude.messages.count_tokens(model=model, messages=[{"role": "user", "content": "Hi"}])
    longer = claude.messages.count_tokens(
        model=model,
        system="You are a helpful assistant who answers every question at length.",
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Hi, what is the weather like in Paris today?"}],
    )
    assert 0 < short.input_tokens < longer.input_tokens
    paths = [r["path"] for r in sandbox.get("/_sandbox/requests").json()["requests"]]
    assert paths[0] == (
        "/v1/messages/count_tokens" if model == SONNET else "/v1beta/models/gemini-3-flash-preview:countTokens"
    )


# ---- headers the client sends ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_betas_and_unknown_fields(claude: anthropic.Anthropic, sandbox: httpx.Client, model: str) -> None:
    raw = claude.messages.with_raw_response.create(
        model=model,
        max_tokens=300,
        messages=[{"role": "user", "content": "Hello"}],
        extra_headers={"anthropic-beta": "context-management-2025-06-27,future-feature-2099-01-01"},
        extra_body={"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}},
    )
    assert raw.status_code == 200
    (logged,) = sandbox.get("/_sandbox/requests").json()["requests"]
    if model == SONNET:
        assert logged["headers"]["anthropic-beta"] == "context-management-2025-06-27,future-feature-2099-01-01"
        assert logged["body"]["context_management"]["edits"][0]["type"] == "clear_tool_uses_20250919"
    else:
        assert "context_management" in raw.headers["x-opentoken-ignored-params"]


# ---- errors -------------------------------------------------------------------------------------------------------


def test_authentication_error(gateway: Gateway) -> None:
    bad = anthropic.Anthropic(base_url=gateway.url, api_key="ot-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    check_error(401, info.value.response.content)
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    bearer = anthropic.Anthropic(base_url=gateway.url, auth_token=gateway.key, api_key=None, max_retries=0)
    assert bearer.messages.create(model=SONNET, max_tokens=50, messages=[{"role": "user", "content": "Hi"}]).id


def test_not_found_names_the_nearest_ids(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        claude.messages.create(model="claude-sonet-4-5", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert "claude-sonnet-4-5" in info.value.message  # the alias it was close to (answered by the successor)


def test_anthropic_model_names_are_aliases(claude: anthropic.Anthropic) -> None:
    msg = claude.messages.create(
        model="claude-sonnet-4-5-20250929", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
    )
    assert "claude-sonnet" in msg.model


def test_invalid_request(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        bad: Any = [{"role": "user", "content": 5}]
        claude.messages.create(model=SONNET, max_tokens=10, messages=bad)
    assert "messages.0.content" in info.value.message
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.post("/v1/messages", body={"model": SONNET, "messages": []}, cast_to=anthropic.types.Message)
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_request_too_large(gateway: Gateway) -> None:
    conn = http.client.HTTPConnection(gateway.url.removeprefix("http://"))
    conn.putrequest("POST", "/v1/messages")
    conn.putheader("x-api-key", gateway.key)
    conn.putheader("content-type", "application/json")
    conn.putheader("content-length", str(10**10))
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status == 413
    assert check_error(413, body)["error"]["type"] == "request_too_large"


def test_permission_and_rate_limit(gateway: Gateway) -> None:
    limited = run_cli("keys", "create", "--name", "anth-limited", "--models", "google/*", "--rpm", "1", env=gateway.env)
    key = limited.strip().splitlines()[-1]
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        client.messages.create(model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    check_error(403, denied.value.response.content)
    client.messages.create(model=GEMINI, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(anthropic.RateLimitError) as limited_err:
        client.messages.create(model=GEMINI, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert int(limited_err.value.response.headers["retry-after"]) >= 1
    assert limited_err.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [(529, anthropic.InternalServerError, "overloaded_error"), (500, anthropic.InternalServerError, "api_error")],
)
def test_upstream_failures(
    claude: anthropic.Anthropic, model: str, status: int, cls: type[Exception], kind: str
) -> None:
    with pytest.raises(cls) as info:
        claude.messages.create(
            model=model, max_tokens=50, messages=[{"role": "user", "content": f"Hi [[fault:status={status}]]"}]
        )
    err = info.value
    assert isinstance(err, anthropic.APIStatusError) and err.status_code == status
    assert err.body["error"]["type"] == kind  # type: ignore[index]


@pytest.mark.parametrize("model", MODELS)
def test_error_mid_stream_is_an_error_event(gateway: Gateway, model: str) -> None:
    body = {
        "model": model,
        "max_tokens": 300,
        "stream": True,
        "messages": [{"role": "user", "content": "Tell me a long story [[fault:after_events=6]]"}],
    }
    r = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": gateway.key}, timeout=30)
    assert r.status_code == 200
    events = check_stream(r.content)
    assert events[-1]["type"] == "error" and events[0]["type"] == "message_start"


def test_client_disconnect_cancels_the_upstream_call(gateway: Gateway, sandbox: httpx.Client) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, timeout=0.5)
    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(
            model=SONNET,
            max_tokens=50,
            stream=True,
            messages=[{"role": "user", "content": "Hi [[fault:delay_ms=4000]]"}],
        )
    for _ in range(300):
        (logged,) = sandbox.get("/_sandbox/requests").json()["requests"]
        if logged["closed_at"] is not None:
            break
        time.sleep(0.01)
    assert logged["closed_at"] is not None and logged["status"] is None


# ---- models -------------------------------------------------------------------------------------------------------


def test_models_in_anthropic_shape(claude: anthropic.Anthropic, gateway: Gateway) -> None:
    first = claude.models.list(limit=2)
    assert len(first.data) == 2 and first.has_more and first.last_id == first.data[-1].id
    rest = claude.models.list(limit=1000, after_id=first.last_id)
    ids = [m.id for m in first.data] + [m.id for m in rest.data]
    assert "anthropic/claude-sonnet-4-6" in ids and GEMINI in ids and not rest.has_more
    assert SONNET not in ids  # retired: not listed, though still answered by its successor
    before = claude.models.list(limit=1, before_id=ids[1])
    assert [m.id for m in before.data] == ids[:1]
    model = claude.models.retrieve("claude-sonnet-4-5")
    assert model.id.startswith("anthropic/claude-sonnet") and model.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        claude.models.retrieve("nope/nothing")
    openai_shape = httpx.get(gateway.v1 + "/models", headers={"authorization": f"Bearer {gateway.key}"}).json()
    assert openai_shape["object"] == "list"
    assert httpx.head(gateway.url + "/").status_code == 200
