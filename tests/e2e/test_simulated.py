"""Replies relayed from the built-in sandbox (``opentoken serve`` with no provider key) say they are simulated;
replies from a configured provider endpoint do not."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from support.servers import Gateway, gateway_env, gateway_process

BODY = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = gateway_env(tmp_path_factory.mktemp("embedded"), "")
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENTOKEN_ANTHROPIC_BASE_URL", "OPENTOKEN_GEMINI_BASE_URL"):
        env.pop(name)
    with gateway_process(env) as gw:
        yield gw


def post(gw: Gateway, **extra: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {gw.key}"}
    return httpx.post(gw.v1 + "/chat/completions", headers=headers, json={**BODY, **extra}, timeout=30)


def test_embedded_sandbox_replies_are_marked(embedded: Gateway) -> None:
    r = post(embedded)
    assert r.status_code == 200 and r.headers["x-opentoken-simulated"] == "true"
    streamed = post(embedded, stream=True)
    assert streamed.status_code == 200 and streamed.headers["x-opentoken-simulated"] == "true"


def test_configured_provider_replies_are_not_marked(gateway: Gateway) -> None:
    r = post(gateway)
    assert r.status_code == 200 and "x-opentoken-simulated" not in r.headers
