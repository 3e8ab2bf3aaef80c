"""OpenTelemetry from a real gateway process to an in-process OTLP/HTTP receiver, checked attribute by attribute:
a chat, a stream, a retried call and a failed call; the client's W3C ``traceparent`` continued and passed to
the provider (seen in the sandbox's request log); the GenAI metrics; content only when opted in; no keys."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from support.otlp import ReceivedSpan, Receiver, otlp_receiver
from support.reliability import USER, Ledger, Sandbox, complete, failing, stream
from support.servers import Gateway, gateway_env, gateway_process, sandbox_process

SONNET = "anthropic/claude-sonnet-4-6"
HAIKU = "anthropic/claude-haiku-4-5"
OPUS = "anthropic/claude-opus-4-5"
FLASH = "google/gemini-3-flash"


def otel_env(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "opentoken-test",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        **extra,
    }


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    with sandbox_process() as url:
        yield Sandbox(url)


@pytest.fixture(scope="module")
def traced(receiver: Receiver, upstream: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = gateway_env(tmp_path_factory.mktemp("otel"), upstream.url, **otel_env(receiver))
    with gateway_process(env) as gw:
        yield gw


@pytest.fixture
def client(traced: Gateway, upstream: Sandbox) -> openai.OpenAI:
    upstream.reset()
    return openai.OpenAI(base_url=traced.v1, api_key=traced.key, max_retries=0, timeout=30)


def parent_header() -> tuple[str, str, dict[str, str]]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, {"traceparent": f"00-{trace_id}-{span_id}-01"}


def by_kind(spans: list[ReceivedSpan], kind: str, name: str | None = None) -> list[ReceivedSpan]:
    found = [s for s in spans if s.kind == kind and (name is None or s.name == name)]
    return sorted(found, key=lambda s: s.start_ns)


def one(spans: list[ReceivedSpan], kind: str, name: str | None = None) -> ReceivedSpan:
    (span,) = by_kind(spans, kind, name)
    return span


def check_usage(attrs: dict[str, Any], usage: Any) -> None:
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    reasoning = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else 0
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == (cached or 0)
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == attrs["gen_ai.usage.cache_write.input_tokens"] == 0
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == (reasoning or 0)


def check_upstream_header(upstream: Sandbox, spans: list[ReceivedSpan]) -> None:
    """Each upstream request carried the traceparent of its own attempt span."""
    clients = by_kind(spans, "CLIENT")
    logged = upstream.requests()
    assert len(logged) == len(clients)
    for request, span in zip(logged, clients, strict=True):
        version, trace_id, parent, flags = request["headers"]["traceparent"].split("-")
        assert (version, trace_id, parent) == ("00", span.trace_id, span.span_id)
        assert int(flags, 16) & 1  # sampled


def test_chat_span_attributes_and_trace_continued_to_the_provider(
    traced: Gateway, client: openai.OpenAI, receiver: Receiver, upstream: Sandbox
) -> None:
    trace_id, parent, headers = parent_header()
    ledger = Ledger(traced)
    ledger.mark()
    raw = client.chat.completions.with_raw_response.create(model=SONNET, messages=USER, extra_headers=headers)
    resp, rid = raw.parse(), raw.headers["x-request-id"]
    row = ledger.one(rid)
    spans = receiver.trace_of(rid, expect=4)

    server = one(spans, "SERVER")
    assert (server.trace_id, server.parent_span_id) == (trace_id, parent)  # the client's trace, continued
    assert server.name == f"chat {SONNET}"
    assert server.resource["service.name"] == "opentoken-test"
    a = server.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == SONNET
    assert a["gen_ai.response.model"] == SONNET
    assert a["gen_ai.response.id"].startswith("msg_")
    assert resp.choices[0].finish_reason == "stop" and a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["gen_ai.request.stream"] is False
    check_usage(a, resp.usage)
    assert a["opentoken.key.id"] == row["key_id"]
    assert a["opentoken.cost.usd"] == pytest.approx(float(Decimal(row["cost"])))
    assert Decimal(raw.headers["x-opentoken-cost-usd"]) == Decimal(row["cost"])
    assert a["opentoken.attempts"] == 1
    assert a["opentoken.deployment"] == "anthropic-default"
    assert a["opentoken.request.id"] == rid
    assert a["opentoken.ingress"] == "openai_chat"
    assert a["http.response.status_code"] == 200 and a["http.request.method"] == "POST"
    assert "error.type" not in a and server.status == "UNSET"
    assert not any(k.startswith("gen_ai.input") or k.startswith("gen_ai.output") for k in a)  # not opted in

    attempt = one(spans, "CLIENT")
    assert attempt.parent_span_id == server.span_id and attempt.name == "chat claude-sonnet-4-6"
    c = attempt.attributes
    assert c["gen_ai.operation.name"] == "chat" and c["gen_ai.provider.name"] == "anthropic"
    assert c["gen_ai.request.model"] == "claude-sonnet-4-6"
    assert c["gen_ai.response.id"] == a["gen_ai.response.id"]
    assert c["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert c["opentoken.attempt"] == 1 and c["opentoken.deployment"] == "anthropic-default"
    assert c["server.address"] == "127.0.0.1" and c["server.port"] == int(upstream.url.rsplit(":", 1)[1])
    check_usage(c, resp.usage)
    assert attempt.status == "UNSET" and "error.type" not in c

    admission = one(spans, "INTERNAL", "opentoken.admission")
    assert admission.parent_span_id == server.span_id
    assert admission.attributes["opentoken.admission.outcome"] == "granted"
    assert admission.attributes["opentoken.key.id"] == row["key_id"]
    write = one(spans, "INTERNAL", "opentoken.ledger.write")
    assert write.parent_span_id == server.span_id
    assert write.attributes["opentoken.request.id"] == rid and write.attributes["opentoken.ledger.batch_records"] >= 1
    assert admission.end_ns <= attempt.start_ns and attempt.end_ns <= write.end_ns <= server.end_ns
    check_upstream_header(upstream, spans)


def test_stream_spans(traced: Gateway, client: openai.OpenAI, receiver: Receiver, upstream: Sandbox) -> None:
    _, _, headers = parent_header()
    with client.chat.completions.with_streaming_response.create(
        model=FLASH, messages=USER, stream=True, stream_options={"include_usage": True}, extra_headers=headers
    ) as raw:
        rid = raw.headers["x-request-id"]
        chunks = list(raw.parse())
    usage = chunks[-1].usage
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    spans = receiver.trace_of(rid, expect=4)
    server, attempt = one(spans, "SERVER"), one(spans, "CLIENT")
    a = server.attributes
    assert a["gen_ai.provider.name"] == "gcp.gemini" and a["gen_ai.request.model"] == FLASH
    assert a["gen_ai.request.stream"] is True and a["gen_ai.response.model"] == FLASH
    assert finish == ["stop"] and a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["opentoken.time_to_first_token"] > 0 and a["opentoken.attempts"] == 1
    assert a["opentoken.deployment"] == "google-default"
    check_usage(a, usage)
    c = attempt.attributes
    assert c["gen_ai.request.stream"] is True and c["gen_ai.provider.name"] == "gcp.gemini"
    check_usage(c, usage)
    assert attempt.end_ns > attempt.start_ns and attempt.end_ns <= server.end_ns  # the span covers the stream
    check_upstream_header(upstream, spans)


def test_retried_call_has_one_span_per_attempt(
    traced: Gateway, client: openai.OpenAI, receiver: Receiver, upstream: Sandbox
) -> None:
    upstream.fault(count=1, status=529, provider="anthropic", retry_after=0)  # overloaded: retried
    rid, resp = complete(client, model=HAIKU, messages=USER)
    spans = receiver.trace_of(rid, expect=5)
    server = one(spans, "SERVER")
    first, second = by_kind(spans, "CLIENT")
    assert server.attributes["opentoken.attempts"] == 2 and "error.type" not in server.attributes
    assert first.parent_span_id == second.parent_span_id == server.span_id
    assert first.attributes["opentoken.attempt"] == 1 and second.attributes["opentoken.attempt"] == 2
    assert first.attributes["error.type"] == "overloaded" and first.status == "ERROR"
    assert "gen_ai.response.id" not in first.attributes
    assert "error.type" not in second.attributes and second.status == "UNSET"
    check_usage(second.attributes, resp.usage)
    check_usage(server.attributes, resp.usage)
    check_upstream_header(upstream, spans)


def test_failed_call_marks_the_spans_as_errors(
    traced: Gateway, client: openai.OpenAI, receiver: Receiver, upstream: Sandbox
) -> None:
    upstream.fault(count=1, status=401, provider="anthropic")
    rid, err = failing(client, model=OPUS, messages=USER)
    assert err.status_code == 502
    spans = receiver.trace_of(rid, expect=4)
    server, attempt = one(spans, "SERVER"), one(spans, "CLIENT")
    a = server.attributes
    assert a["error.type"] == "upstream_credentials_rejected" and server.status == "ERROR"
    assert a["http.response.status_code"] == 502 and a["opentoken.attempts"] == 1
    assert a["gen_ai.request.model"] == OPUS and a["gen_ai.provider.name"] == "anthropic"
    assert "gen_ai.response.id" not in a
    assert attempt.attributes["error.type"] == "upstream_credentials_rejected" and attempt.status == "ERROR"
    check_upstream_header(upstream, spans)


def test_refused_admission_is_traced(traced: Gateway, receiver: Receiver) -> None:
    import httpx2 as httpx

    r = httpx.post(
        traced.url + "/admin/v1/keys",
        json={"name": "one-rpm", "rpm": 1},
        headers={"authorization": f"Bearer {traced.admin_key}"},
    )
    key = r.json()["key"]
    limited = openai.OpenAI(base_url=traced.v1, api_key=key, max_retries=0)
    limited.chat.completions.create(model=SONNET, messages=USER)
    rid, err = failing(limited, model=SONNET, messages=USER)
    assert err.status_code == 429
    spans = receiver.trace_of(rid, expect=2)
    server, admission = one(spans, "SERVER"), one(spans, "INTERNAL", "opentoken.admission")
    assert server.attributes["error.type"] == "rate_limit_exceeded" and server.status == "UNSET"  # a 4xx
    assert admission.attributes["opentoken.admission.outcome"] == "requests"
    assert admission.attributes["error.type"] == "rate_limit_exceeded"
    assert not by_kind(spans, "CLIENT")  # refused before any upstream call


def test_genai_metrics(traced: Gateway, client: openai.OpenAI, receiver: Receiver) -> None:
    model = "anthropic/claude-opus-4-1"
    done = [complete(client, model=model, messages=USER)[1] for _ in range(2)]
    streamed = stream(client, model=model, messages=USER, stream_options={"include_usage": True})
    assert streamed.error is None
    prompt = sum(r.usage.prompt_tokens for r in done)
    output = sum(r.usage.completion_tokens for r in done)

    def mine(metric: str, **attrs: str) -> list[Any]:
        points = receiver.latest_points(metric)
        return [
            p
            for p in points
            if p.attributes.get("gen_ai.request.model") == model and attrs.items() <= p.attributes.items()
        ]

    receiver.wait_for(lambda: sum(p.count for p in mine("gen_ai.server.request.duration")) == 3)
    (duration,) = mine("gen_ai.server.request.duration")
    assert duration.unit == "s" and duration.count == 3 and duration.total > 0
    assert duration.attributes["gen_ai.operation.name"] == "chat"
    assert duration.attributes["gen_ai.provider.name"] == "anthropic"
    assert duration.attributes["gen_ai.response.model"] == model
    (ttft,) = mine("gen_ai.server.time_to_first_token")
    assert ttft.count == 1 and ttft.unit == "s"  # the stream only
    (per_token,) = mine("gen_ai.server.time_per_output_token")
    assert per_token.count == 1 and per_token.total > 0
    (inputs,) = mine("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"})
    (outputs,) = mine("gen_ai.client.token.usage", **{"gen_ai.token.type": "output"})
    assert inputs.count == outputs.count == 3 and inputs.unit == "{token}"
    assert inputs.total > prompt and outputs.total > output  # the stream's tokens come on top


def test_content_only_when_opted_in_and_never_keys(
    receiver: Receiver, upstream: Sandbox, traced: Gateway, tmp_path: Path
) -> None:
    env = gateway_env(
        tmp_path, upstream.url, **otel_env(receiver, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true")
    )
    with gateway_process(env) as gw:
        c = openai.OpenAI(base_url=gw.v1, api_key=gw.key, max_retries=0)
        messages = [{"role": "system", "content": "Be brief."}, *USER]
        rid, resp = complete(c, model=SONNET, messages=messages)
        streamed = stream(c, model=SONNET, messages=USER)
        spans = receiver.trace_of(rid, expect=4)
        a = one(spans, "SERVER").attributes
        import json

        assert json.loads(a["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
        assert json.loads(a["gen_ai.input.messages"]) == [
            {"role": "user", "parts": [{"type": "text", "content": USER[0]["content"]}]}
        ]
        (out,) = json.loads(a["gen_ai.output.messages"])
        assert out == {
            "role": "assistant",
            "parts": [{"type": "text", "content": resp.choices[0].message.content}],
            "finish_reason": "stop",
        }
        s = one(receiver.trace_of(streamed.request_id, expect=4), "SERVER").attributes
        (out,) = json.loads(s["gen_ai.output.messages"])
        assert out["parts"] == [{"type": "text", "content": streamed.text}] and out["finish_reason"] == "stop"
    exported = b"".join(receiver.raw)
    for secret in (gw.key, traced.key, gw.admin_key, "sk-ant-test-secret", "gemini-test-secret"):
        assert secret.encode() not in exported
