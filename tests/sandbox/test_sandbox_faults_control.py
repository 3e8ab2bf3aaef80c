"""Fault injection (header, prompt marker, queue), pacing, latency, the request log and the serve entry point."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from opentoken_sandbox.config import SandboxConfig

FAULT = "x-sandbox-fault"
A_HEADERS = {"x-api-key": "secret-key", "anthropic-version": "2023-06-01"}
G_HEADERS = {"x-goog-api-key": "secret-key"}


def claude(text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"model": "claude-haiku-4-5", "max_tokens": 512, "messages": [{"role": "user", "content": text}], **extra}


def gemini(text: str = "Hello") -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


@pytest.mark.parametrize(
    ("status", "kind", "retry"),
    [
        (529, "overloaded_error", "true"),
        (429, "rate_limit_error", "true"),
        (500, "api_error", "false"),
        (503, "overloaded_error", "true"),
    ],
)
async def test_anthropic_status_faults(sbx, status, kind, retry) -> None:
    reply = await sbx.anthropic(claude(), headers={**A_HEADERS, FAULT: f"status={status}"})
    assert reply.status == (529 if status == 503 else status)
    body = reply.json()
    assert body["type"] == "error" and body["error"]["type"] == kind and body["request_id"].startswith("req_")
    assert reply.headers["x-should-retry"] == retry
    if status == 429:
        assert reply.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("status", "expected", "name"),
    [(429, 429, "RESOURCE_EXHAUSTED"), (503, 503, "UNAVAILABLE"), (529, 503, "UNAVAILABLE"), (500, 500, "INTERNAL")],
)
async def test_gemini_status_faults(sbx, status, expected, name) -> None:
    reply = await sbx.gemini(
        "gemini-2.5-flash", gemini(), headers={**G_HEADERS, FAULT: f"status={status},retry_after=7"}
    )
    assert reply.status == expected
    error = reply.json()["error"]
    assert error["code"] == expected and error["status"] == name
    if status == 429:
        retry = next(d for d in error["details"] if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        assert retry["retryDelay"] == "7s"


async def test_prompt_marker_fault(sbx) -> None:
    reply = await sbx.anthropic(claude("Hi [[fault:status=429,retry_after=3]]"))
    assert reply.status == 429 and reply.headers["retry-after"] == "3"
    assert (await sbx.gemini("gemini-2.5-flash", gemini("Hi [[fault:status=500]]"))).status == 500


async def test_queued_faults_hit_the_next_matching_requests(sbx) -> None:
    status, queued = await sbx.control("POST", "/_sandbox/faults", {"count": 2, "status": 503, "provider": "google"})
    assert status == 200 and queued["queued"][0]["count"] == 2
    assert (await sbx.anthropic(claude())).status == 200
    assert (await sbx.gemini("gemini-2.5-flash", gemini())).status == 503
    assert (await sbx.gemini("gemini-2.5-flash", gemini())).status == 503
    assert (await sbx.gemini("gemini-2.5-flash", gemini())).status == 200
    await sbx.control("POST", "/_sandbox/faults", {"count": 5, "status": 529})
    assert (await sbx.anthropic(claude())).status == 529
    assert (await sbx.control("DELETE", "/_sandbox/faults"))[1] == {"cleared": 1}
    assert (await sbx.anthropic(claude())).status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"count": 0, "status": 500},
        {"status": 200},
        {"count": 1},
        {"status": 500, "provider": "openai"},
        {"status": 500, "oops": 1},
    ],
)
async def test_bad_fault_requests_are_refused(sbx, body) -> None:
    status, reply = await sbx.control("POST", "/_sandbox/faults", body)
    assert status == 400 and "error" in reply


async def test_invalid_fault_header_is_a_bad_request(sbx) -> None:
    reply = await sbx.anthropic(claude(), headers={**A_HEADERS, FAULT: "explode=yes"})
    assert reply.status == 400 and "x-sandbox-fault" in reply.json()["error"]["message"]


async def test_anthropic_error_after_events(sbx) -> None:
    reply = await sbx.anthropic(claude(stream=True), headers={**A_HEADERS, FAULT: "after_events=3"})
    assert reply.status == 200
    events = reply.anthropic_events()
    assert [name for name, _ in events] == ["message_start", "content_block_start", "ping", "error"]
    assert events[-1][1]["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    typed = await sbx.anthropic(claude(stream=True), headers={**A_HEADERS, FAULT: "after_events=1,status=500"})
    assert typed.anthropic_events()[-1][1]["error"]["type"] == "api_error"
    plain = await sbx.anthropic(claude(), headers={**A_HEADERS, FAULT: "after_events=3"})
    assert plain.status == 529


async def test_gemini_error_after_events(sbx) -> None:
    reply = await sbx.gemini(
        "gemini-2.5-flash", gemini("Tell me a long story"), stream=True, headers={**G_HEADERS, FAULT: "after_events=2"}
    )
    chunks = reply.gemini_chunks()
    assert len(chunks) == 3 and "candidates" in chunks[1]
    assert chunks[2] == {
        "error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}
    }


async def test_dropped_connections(sbx) -> None:
    url = sbx.url
    async with aiohttp.ClientSession() as http:
        seen: list[bytes] = []
        with pytest.raises(aiohttp.ClientPayloadError):
            headers = {**A_HEADERS, FAULT: "drop_after=2"}
            async with http.post(url + "/v1/messages", json=claude(stream=True), headers=headers) as r:
                assert r.status == 200
                async for line in r.content:
                    seen.append(line)
        assert sum(1 for line in seen if line.startswith(b"event: ")) == 2
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(url + "/v1/messages", json=claude(), headers=A_HEADERS | {FAULT: "drop_after=0"}) as r:
                await r.read()
        gemini_url = url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.post(gemini_url, json=gemini(), headers=G_HEADERS | {FAULT: "drop_after=1"}) as r:
                await r.read()


async def test_delay_fault_and_latency(start_sbx) -> None:
    plain = await start_sbx()
    started = time.monotonic()
    assert (await plain.anthropic(claude(), headers={**A_HEADERS, FAULT: "delay_ms=250"})).status == 200
    assert time.monotonic() - started >= 0.25
    slow = await start_sbx(SandboxConfig(latency_ms=200))
    started = time.monotonic()
    assert (await slow.gemini("gemini-2.5-flash", gemini())).status == 200
    assert time.monotonic() - started >= 0.2


async def test_stream_pacing_by_tokens_per_second(start_sbx) -> None:
    fast = await start_sbx()
    paced = await start_sbx(SandboxConfig(tokens_per_second=500))
    body = claude("Pace me", stream=True)
    tokens = (await fast.anthropic(body)).anthropic_message()["usage"]["output_tokens"]
    started = time.monotonic()
    assert (await paced.anthropic(body)).status == 200
    assert time.monotonic() - started >= tokens / 500 * 0.9
    async with paced.http.post(paced.url + "/v1/messages", json=body, headers=A_HEADERS) as r:
        arrivals = []
        async for _ in r.content.iter_any():
            arrivals.append(time.monotonic())
    assert len(arrivals) > 3, "a paced stream arrives in several writes"


async def test_request_log_redacts_secrets_and_keeps_bodies(sbx) -> None:
    await sbx.anthropic(claude("logged"), path="/v1/messages?beta=true")
    await sbx.post("/v1beta/models/gemini-2.5-flash:generateContent?key=query-secret", gemini("g"), {})
    await sbx.anthropic(claude(), headers={"anthropic-version": "2023-06-01"})
    status, log = await sbx.control("GET", "/_sandbox/requests")
    assert status == 200
    first, second, third = log["requests"]
    assert first["provider"] == "anthropic" and first["model"] == "claude-haiku-4-5" and first["status"] == 200
    assert first["path"] == "/v1/messages" and first["query"] == {"beta": "true"}
    assert first["headers"]["x-api-key"] == "REDACTED"
    assert first["body"]["messages"][0]["content"] == "logged"
    assert second["provider"] == "google" and second["query"]["key"] == "REDACTED"
    assert second["model"] == "gemini-2.5-flash"
    assert third["status"] == 401
    assert "secret" not in json.dumps(log)
    _, only_google = await sbx.control("GET", "/_sandbox/requests?provider=google")
    assert [r["provider"] for r in only_google["requests"]] == ["google"]
    assert (await sbx.control("DELETE", "/_sandbox/requests"))[1] == {"cleared": 3}
    assert (await sbx.control("GET", "/_sandbox/requests"))[1] == {"requests": []}


async def test_health_and_cache_reset(sbx) -> None:
    assert await sbx.control("GET", "/healthz") == (200, {"status": "ok"})
    system = [{"type": "text", "text": "Manual. " * 400, "cache_control": {"type": "ephemeral"}}]
    await sbx.anthropic(claude(system=system))
    assert (await sbx.anthropic(claude(system=system))).json()["usage"]["cache_read_input_tokens"] > 0
    await sbx.control("DELETE", "/_sandbox/cache")
    assert (await sbx.anthropic(claude(system=system))).json()["usage"]["cache_read_input_tokens"] == 0


def test_serve_prints_its_address() -> None:
    code = "from opentoken_sandbox.app import serve; serve('127.0.0.1', 0)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


async def test_client_leaving_mid_stream_is_not_an_error(start_sbx, caplog) -> None:
    paced = await start_sbx(SandboxConfig(tokens_per_second=200))
    response = await paced.http.post(paced.url + "/v1/messages", json=claude(stream=True), headers=A_HEADERS)
    await response.content.readany()
    response.close()
    for _ in range(50):
        _, log = await paced.control("GET", "/_sandbox/requests")
        if log["requests"][0]["status"] is not None:
            break
        await asyncio.sleep(0.05)
    assert log["requests"][0]["status"] == 200
    assert not [r for r in caplog.records if r.name == "aiohttp.server" and r.levelname == "ERROR"]
    assert (await paced.anthropic(claude())).status == 200
