"""``GET /metrics`` reports what the ledger recorded, and needs the admin key."""

from __future__ import annotations

import re

import httpx2 as httpx
import openai

from support.servers import Gateway


def _value(text: str, metric: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(metric + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_tokens_and_cost(gateway: Gateway, client: openai.OpenAI) -> None:
    auth = {"Authorization": f"Bearer {gateway.admin_key}"}
    assert httpx.get(gateway.url + "/metrics").status_code == 401
    before = httpx.get(gateway.url + "/metrics", headers=auth).text
    model = "google/gemini-2.5-flash-lite"
    resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "count me"}])
    after = httpx.get(gateway.url + "/metrics", headers=auth).text
    assert re.search(r"^# TYPE opentoken_requests_total counter", after, re.M)
    delta = _value(after, "opentoken_requests_total", model=model, status="200") - _value(
        before, "opentoken_requests_total", model=model, status="200"
    )
    assert delta == 1
    out = _value(after, "opentoken_tokens_total", model=model, kind="output") - _value(
        before, "opentoken_tokens_total", model=model, kind="output"
    )
    assert resp.usage is not None and out == resp.usage.completion_tokens
