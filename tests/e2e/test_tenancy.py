"""Keys, cost, budgets, rate limits and the ledger, through the real gateway and the official SDK."""

from __future__ import annotations

import concurrent.futures
import time
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import Gateway

HAIKU = "anthropic/claude-haiku-4-5"


def admin(gateway: Gateway, method: str, path: str, **kw: Any) -> httpx.Response:
    r = httpx.request(
        method,
        gateway.url + "/admin/v1" + path,
        headers={"Authorization": f"Bearer {gateway.admin_key}"},
        timeout=30,
        **kw,
    )
    assert r.status_code < 300, r.text
    return r


def new_key(gateway: Gateway, **fields: Any) -> tuple[str, str]:
    body = admin(gateway, "POST", "/keys", json={"name": "t", **fields}).json()
    return body["id"], body["key"]


def sdk(gateway: Gateway, key: str, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=retries)


def ledger(gateway: Gateway, key_id: str) -> list[dict[str, Any]]:
    return admin(gateway, "GET", "/requests", params={"key_id": key_id, "limit": 1000}).json()["data"]


def test_cost_is_price_times_tokens_and_sums_its_parts(gateway: Gateway) -> None:
    key_id, key = new_key(gateway)
    client = sdk(gateway, key)
    raw = client.chat.completions.with_raw_response.create(
        model=HAIKU, messages=[{"role": "user", "content": "What is a river?"}], reasoning_effort="low"
    )
    resp = raw.parse()
    usage = resp.usage
    assert usage is not None
    extra = usage.model_extra or {}
    cost, parts = Decimal(str(extra["cost"])), {k: Decimal(str(v)) for k, v in extra["cost_details"].items()}
    assert cost == sum(parts.values())
    pricing = client.models.retrieve(HAIKU).model_extra["pricing"]["per_million"]  # type: ignore[index]
    million = Decimal(1_000_000)
    assert parts["input"] == Decimal(usage.prompt_tokens) * Decimal(pricing["input"]) / million
    assert (
        parts["output"] + parts["reasoning"] == Decimal(usage.completion_tokens) * Decimal(pricing["output"]) / million
    )
    assert Decimal(raw.headers["x-opentoken-cost-usd"]) == cost
    rows = ledger(gateway, key_id)
    assert len(rows) == 1 and Decimal(rows[0]["cost"]) == cost


def test_stream_usage_chunk_carries_cost(gateway: Gateway) -> None:
    _, key = new_key(gateway)
    chunks = list(
        sdk(gateway, key).chat.completions.create(
            model=HAIKU,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    extra = chunks[-1].usage.model_extra or {}
    assert Decimal(str(extra["cost"])) == sum(Decimal(str(v)) for v in extra["cost_details"].values()) > 0


def test_every_request_leaves_exactly_one_ledger_record(gateway: Gateway) -> None:
    key_id, key = new_key(gateway)
    client = sdk(gateway, key)
    ok = [
        client.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": f"n{i}"}]) for i in range(5)
    ]
    list(client.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "s"}], stream=True))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "x [[fault:status=500]]"}])
    rows = ledger(gateway, key_id)
    assert len(rows) == 7
    assert sorted(r["status"] for r in rows) == [200] * 6 + [502]
    ids = {r["request_id"] for r in rows}
    assert len(ids) == 7
    assert ids >= {"req_" + c.id.removeprefix("chatcmpl-") for c in ok}


def test_rate_limit_headers_and_429(gateway: Gateway) -> None:
    _, key = new_key(gateway, rpm=3)
    client = sdk(gateway, key)
    for i in range(3):
        raw = client.chat.completions.with_raw_response.create(
            model=HAIKU, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(2 - i)
        assert raw.headers["x-ratelimit-reset-requests"]
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "hi"}])
    headers = info.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert info.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]


def test_budget_holds_under_200_concurrent_requests(gateway: Gateway, sandbox: httpx.Client) -> None:
    messages = [{"role": "user", "content": "hi"}]
    probe_id, probe_key = new_key(gateway)
    sdk(gateway, probe_key).chat.completions.create(model=HAIKU, messages=messages, max_tokens=20)
    one = Decimal(ledger(gateway, probe_id)[0]["cost"])
    budget = (one * 50).quantize(Decimal("0.000000001"))
    key_id, key = new_key(gateway, budget_usd=str(budget))
    client = sdk(gateway, key, retries=2)  # the SDK would retry a 429, unless told not to
    sandbox.delete("/_sandbox/requests")

    def call(_: int) -> str:
        try:
            client.chat.completions.create(model=HAIKU, messages=messages, max_tokens=20)
            return "ok"
        except openai.RateLimitError as e:
            assert e.body["code"] == "insufficient_quota"  # type: ignore[index]
            assert e.response.headers["x-should-retry"] == "false"
            return "quota"

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        outcomes = list(pool.map(call, range(200)))
    ok = outcomes.count("ok")
    assert 0 < ok <= 200 and outcomes.count("quota") == 200 - ok and outcomes.count("quota") > 0
    rows = ledger(gateway, key_id)
    spent = sum(Decimal(r["cost"]) for r in rows)
    assert len(rows) == ok
    assert spent <= budget
    upstream = sandbox.get("/_sandbox/requests", params={"provider": "anthropic"}).json()["requests"]
    assert len(upstream) == ok  # no rejected request reached the provider, and the SDK retried none
    own = httpx.get(gateway.v1 + "/key", headers={"Authorization": f"Bearer {key}"}).json()
    assert Decimal(own["spend_usd"]) == spent
    assert Decimal(own["budget_remaining_usd"]) == budget - spent


def test_model_patterns_restrict_use_and_listing(gateway: Gateway) -> None:
    _, key = new_key(gateway, models=["google/*"])
    client = sdk(gateway, key)
    assert {m.id.split("/")[0] for m in client.models.list()} == {"google"}
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "model_not_allowed"  # type: ignore[index]
    client.chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])


def test_revocation_takes_effect_within_one_second(gateway: Gateway) -> None:
    key_id, key = new_key(gateway)
    client = sdk(gateway, key)
    client.models.list()
    admin(gateway, "POST", f"/keys/{key_id}/revoke")
    time.sleep(1.0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_own_key_endpoint(gateway: Gateway) -> None:
    _, key = new_key(gateway, rpm=100, budget_usd="5", budget_period="monthly")
    own = httpx.get(gateway.v1 + "/key", headers={"Authorization": f"Bearer {key}"}).json()
    assert own["rpm"] == 100 and Decimal(own["budget_usd"]) == 5 and own["budget_period"] == "monthly"
    assert Decimal(own["budget_remaining_usd"]) == 5
    assert "key" not in own and "key_hash" not in own
