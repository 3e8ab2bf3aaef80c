"""End-to-end cases that only one provider produces (blocked prompts, refusals, thinking streams, image URLs)."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import Gateway

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010100005f1a0e2a0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    """A loopback HTTP server with an image and a non-image (the gateway allow-lists 127.0.0.1 in tests)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, ctype = (PNG_1PX, "application/octet-stream") if self.path == "/cat.png" else (b"hello", "text/plain")
            self.send_response(200)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _image_message(url: str) -> list[Any]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


def test_gemini_fetches_http_images_and_sends_them_inline(
    client: openai.OpenAI, image_server: str, sandbox: httpx.Client
) -> None:
    resp = client.chat.completions.create(
        model="google/gemini-3-flash", messages=_image_message(image_server + "/cat.png")
    )
    assert resp.choices[0].finish_reason == "stop"
    logged = sandbox.get("/_sandbox/requests", params={"provider": "google"}).json()["requests"]
    parts = logged[-1]["body"]["contents"][0]["parts"]
    inline = [p["inlineData"] for p in parts if "inlineData" in p]
    assert inline == [{"mimeType": "image/png", "data": base64.b64encode(PNG_1PX).decode()}]


def test_gemini_refuses_non_image_urls(client: openai.OpenAI, image_server: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="google/gemini-3-flash", messages=_image_message(image_server + "/a.txt"))
    assert info.value.body["param"] == "messages[0].content[1].image_url.url"  # type: ignore[index]


def test_anthropic_passes_image_urls_through(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    url = "https://example.com/cat.png"
    client.chat.completions.create(model="anthropic/claude-sonnet-4-6", messages=_image_message(url))
    logged = sandbox.get("/_sandbox/requests", params={"provider": "anthropic"}).json()["requests"]
    blocks = logged[-1]["body"]["messages"][0]["content"]
    assert {"type": "image", "source": {"type": "url", "url": url}} in blocks


def test_gemini_blocked_prompt_is_content_filter_with_null_content(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "[[blocked]] something"}]
    )
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.choices[0].message.content is None


def test_gemini_blocked_prompt_streamed(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "[[blocked]] x"}], stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ""


def test_gemini_safety_stop(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "[[safety]] x"}]
    )
    assert resp.choices[0].finish_reason == "content_filter"


def test_gemini_max_tokens_with_no_parts(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="google/gemini-3-flash",
        messages=[{"role": "user", "content": "Think hard [[max_tokens]]"}],
        reasoning_effort="high",
        max_tokens=50,
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens_details is not None
    assert (resp.usage.completion_tokens_details.reasoning_tokens or 0) > 0


@pytest.mark.parametrize(
    "model",
    ["google/gemini-2.5-pro", "google/gemini-3-flash", "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6"],
)
def test_reasoning_is_reported_apart_from_content(client: openai.OpenAI, model: str) -> None:
    resp = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Why is the sky blue?"}], reasoning_effort="high"
    )
    message = resp.choices[0].message
    reasoning = (message.model_extra or {}).get("reasoning_content")
    assert reasoning and reasoning not in (message.content or "")
    assert resp.usage is not None and resp.usage.completion_tokens_details is not None
    assert (resp.usage.completion_tokens_details.reasoning_tokens or 0) > 0 or model.startswith("anthropic/")


def test_anthropic_thinking_streams_as_reasoning_content(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="anthropic/claude-haiku-4-5",  # budget thinking (Sonnet 4.6 thinks adaptively: test above)
            messages=[{"role": "user", "content": "Why is the sky blue?"}],
            reasoning_effort="low",
            stream=True,
        )
    )
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning and content and reasoning not in content


def test_anthropic_refusal_is_content_filter(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="anthropic/claude-sonnet-4-6", messages=[{"role": "user", "content": "[[refusal]] bad"}]
    )
    assert resp.choices[0].finish_reason == "content_filter"


def test_claude_rejects_n_greater_than_one_but_gemini_serves_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="anthropic/claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}], n=2
        )
    assert info.value.body["param"] == "n"  # type: ignore[index]
    resp = client.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], n=2
    )
    assert [c.index for c in resp.choices] == [0, 1]


def test_gateway_auth_errors(gateway: Gateway) -> None:
    bad = openai.OpenAI(base_url=gateway.v1, api_key="ot-not-a-real-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="google/gemini-3-flash", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    r = httpx.get(gateway.v1 + "/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"


def test_gemini3_thought_signatures_round_trip_through_a_plain_client(
    client: openai.OpenAI, sandbox: httpx.Client
) -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    messages: list[Any] = [{"role": "user", "content": "Use get_weather for Oslo, two parallel calls."}]
    first = client.chat.completions.create(model="google/gemini-3-flash", messages=messages, tools=tools)
    calls = first.choices[0].message.tool_calls or []
    assert len(calls) == 2
    logged = sandbox.get("/_sandbox/requests", params={"provider": "google"}).json()["requests"]
    assert logged  # the reply carried a signature on the first call (the sandbox signs like Gemini 3)
    # a plain client sends back only ids, names, arguments and the results
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ],
        }
    )
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "3C"} for c in calls]
    second = client.chat.completions.create(model="google/gemini-3-flash", messages=messages, tools=tools)
    assert "3C" in (second.choices[0].message.content or "")
    sent = sandbox.get("/_sandbox/requests", params={"provider": "google"}).json()["requests"][-1]["body"]
    model_turn = next(c for c in sent["contents"] if c["role"] == "model")
    signatures = [p.get("thoughtSignature") for p in model_turn["parts"] if "functionCall" in p]
    assert signatures[0] and signatures[0] != "skip_thought_signature_validator"
