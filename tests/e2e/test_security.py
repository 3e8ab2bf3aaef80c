"""Issue 10 through the real gateway process: what one tenant, an attacker or a careless operator can do.

Each test names the item of issue 10 it keeps fixed. The abuse suite (``tests/abuse``) holds the ones that
prove a resource bound; the fuzz suite (``tests/fuzz``) holds the property-based ones.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import Gateway, base_env, free_port, opentoken, run_cli, wait_http

SONNET = "anthropic/claude-sonnet-4-5"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def new_key(gateway: Gateway, **fields: Any) -> tuple[str, str]:
    r = httpx.post(
        gateway.url + "/admin/v1/keys",
        headers={"Authorization": f"Bearer {gateway.admin_key}"},
        json={"name": "security", **fields},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def sdk(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


def test_one_tenant_cannot_replay_another_tenants_reasoning(gateway: Gateway, sandbox: httpx.Client) -> None:
    """Item 4: stored thinking is re-attached only for the key that produced it."""
    _, key_a = new_key(gateway)
    _, key_b = new_key(gateway)
    messages: list[Any] = [{"role": "user", "content": "Call get_weather for Oslo."}]
    first = sdk(gateway, key_a).chat.completions.create(
        model=SONNET, messages=messages, tools=[WEATHER], reasoning_effort="high"
    )
    thinking = (first.choices[0].message.model_extra or {}).get("reasoning_content")
    assert thinking and first.choices[0].message.tool_calls
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True, exclude={"reasoning_content"}))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "3C"})

    sandbox.delete("/_sandbox/requests")
    sdk(gateway, key_b).chat.completions.create(model=SONNET, messages=messages, tools=[WEATHER])
    sent = json.dumps(sandbox.get("/_sandbox/requests", params={"provider": "anthropic"}).json()["requests"][-1])
    assert thinking not in sent and '"thinking"' not in sent.replace('"thinking": null', "")

    sandbox.delete("/_sandbox/requests")  # the key that made it still gets it back
    sdk(gateway, key_a).chat.completions.create(
        model=SONNET, messages=messages, tools=[WEATHER], reasoning_effort="high"
    )
    sent = json.dumps(sandbox.get("/_sandbox/requests", params={"provider": "anthropic"}).json()["requests"][-1])
    assert json.dumps(thinking)[1:-1] in sent


GEMINI = "google/gemini-2.5-flash"
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
INVALID_FOR_PROVIDER: list[tuple[str, str, list[Any], dict[str, Any], str]] = [
    (
        "empty base64 image data",
        SONNET,
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}]}],
        {},
        "messages[0].content[0].image_url.url",
    ),
    ("n above Gemini's candidate limit", GEMINI, [{"role": "user", "content": "hi"}], {"n": 9}, "n"),
    ("n of 128 on Gemini", GEMINI, [{"role": "user", "content": "hi"}], {"n": 128}, "n"),
    (
        "empty tool-call name",
        SONNET,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
        ],
        {},
        "messages[1].tool_calls[0].function.name",
    ),
    (
        "tool message with no matching call",
        SONNET,
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            {"role": "tool", "tool_call_id": "call_nobody_made", "content": "y"},
        ],
        {},
        "messages[3].tool_call_id",
    ),
]


@pytest.mark.parametrize(
    ("model", "messages", "extra", "param"),
    [c[1:] for c in INVALID_FOR_PROVIDER],
    ids=[c[0] for c in INVALID_FOR_PROVIDER],
)
def test_requests_invalid_for_the_provider_are_400s_before_any_upstream_call(
    gateway: Gateway, sandbox: httpx.Client, model: str, messages: list[Any], extra: dict[str, Any], param: str
) -> None:
    """Item 11: validated before sending; a 400 naming the param, and the provider never sees it."""
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {gateway.key}"},
        json={"model": model, "messages": messages, **extra},
        timeout=30,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    assert sandbox.get("/_sandbox/requests").json() == {"requests": []}


@contextlib.contextmanager
def embedded_sandbox_gateway(tmp_path: Path, **extra: str) -> Iterator[tuple[str, str, str]]:
    """A gateway with no provider key, so it serves every model from its embedded sandbox: (url, key, sandbox)."""
    env = {**base_env(), "OPENTOKEN_DATABASE_URL": f"sqlite:///{tmp_path / 'gw.db'}", **extra}
    key = run_cli("keys", "create", "--name", "embedded", env=env).strip().splitlines()[-1]
    port = free_port()
    proc = opentoken("serve", "--port", str(port), env=env, stderr=subprocess.PIPE, text=True)
    try:
        sandbox = ""
        assert proc.stderr is not None
        for line in proc.stderr:
            found = re.search(r"SANDBOX at (http://\S+)", line)
            if found:
                sandbox = found.group(1)
                break
        assert sandbox, "the gateway did not announce its embedded sandbox"
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe from filling up
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", proc)
        yield url, key, sandbox
    finally:
        proc.terminate()
        proc.wait(15)


def test_the_embedded_sandbox_control_surface_is_off_by_default(tmp_path: Path) -> None:
    """Item 13: no prompt log, no fault queue, and prompt markers do not inject faults."""
    with embedded_sandbox_gateway(tmp_path) as (url, key, sandbox):
        assert httpx.get(sandbox + "/_sandbox/requests").status_code == 404
        assert httpx.post(sandbox + "/_sandbox/faults", json={"count": 1, "status": 500}).status_code == 404
        assert httpx.delete(sandbox + "/_sandbox/requests").status_code == 404
        reply = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0).chat.completions.create(
            model=SONNET, messages=[{"role": "user", "content": "hi [[fault:status=500]]"}]
        )
        assert reply.choices[0].finish_reason == "stop"


def test_the_operator_may_turn_the_embedded_control_surface_on(tmp_path: Path) -> None:
    with embedded_sandbox_gateway(tmp_path, OPENTOKEN_SANDBOX_CONTROL="true") as (url, key, sandbox):
        assert httpx.get(sandbox + "/_sandbox/requests").status_code == 200
        with pytest.raises(openai.InternalServerError):
            openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0).chat.completions.create(
                model=SONNET, messages=[{"role": "user", "content": "hi [[fault:status=500]]"}]
            )


def _with_unknown_fields(gateway: Gateway, fields: dict[str, Any]) -> httpx.Response:
    body = {"model": SONNET, "messages": [{"role": "user", "content": "hi"}], **fields}
    return httpx.post(
        gateway.v1 + "/chat/completions",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json"},
        timeout=30,
    )


@pytest.mark.parametrize("name", ["naïve_ŝ", "日本語", "x\r\nSet-Cookie: a=b", "x\ny"])
def test_client_chosen_field_names_never_break_a_response_header(gateway: Gateway, name: str) -> None:
    """Item 6: an unknown field's name is never put into a header unescaped (it gave a 500, or a dropped
    connection for CR/LF, after the upstream call had been made and billed)."""
    r = _with_unknown_fields(gateway, {name: 1})
    assert r.status_code in (200, 400), r.text
    assert "set-cookie" not in r.headers
    assert all(value.isascii() and "\n" not in value for value in r.headers.values())


def test_thousands_of_unknown_fields_make_a_bounded_header(gateway: Gateway) -> None:
    r = _with_unknown_fields(gateway, {f"unknown_field_{i}": i for i in range(2000)})
    assert r.status_code in (200, 400), r.text
    assert sum(len(k) + len(v) for k, v in r.headers.items()) < 8 * 1024
