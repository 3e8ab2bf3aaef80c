"""Two gateway replicas sharing PostgreSQL and Redis: budgets, request limits, revocation and the ledger hold
exactly across them."""

from __future__ import annotations

import concurrent.futures
import secrets
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import REDIS, Gateway, postgres_replicas

HAIKU = "anthropic/claude-haiku-4-5"


@pytest.fixture(scope="module")
def replicas(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    data_dir = Path(tmp_path_factory.mktemp("replicas"))
    with postgres_replicas(
        data_dir, sandbox_url, "replicas_" + secrets.token_hex(4), OPENTOKEN_REDIS_URL=REDIS
    ) as pair:
        yield pair


def admin(gw: Gateway, method: str, path: str, **kw: Any) -> httpx.Response:
    r = httpx.request(method, gw.url + "/admin/v1" + path, headers={"Authorization": f"Bearer {gw.admin_key}"}, **kw)
    assert r.status_code < 300, r.text
    return r


def new_key(gw: Gateway, **fields: Any) -> tuple[str, str]:
    body = admin(gw, "POST", "/keys", json={"name": "replica", **fields}).json()
    return body["id"], body["key"]


def clients(replicas: tuple[Gateway, Gateway], key: str) -> list[openai.OpenAI]:
    return [openai.OpenAI(base_url=gw.v1, api_key=key, max_retries=0) for gw in replicas]


def test_request_limit_is_exact_across_replicas(replicas: tuple[Gateway, Gateway]) -> None:
    _, key = new_key(replicas[0], rpm=20)
    pair = clients(replicas, key)

    def call(i: int) -> bool:
        try:
            pair[i % 2].chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "hi"}])
            return True
        except openai.RateLimitError:
            return False

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(60)))
    assert results.count(True) == 20


def test_budget_and_ledger_hold_across_replicas(replicas: tuple[Gateway, Gateway]) -> None:
    probe_id, probe = new_key(replicas[0])
    clients(replicas, probe)[0].chat.completions.create(
        model=HAIKU, messages=[{"role": "user", "content": "hi"}], max_tokens=20
    )
    one = Decimal(admin(replicas[0], "GET", "/requests", params={"key_id": probe_id}).json()["data"][0]["cost"])
    budget = one * 30
    key_id, key = new_key(replicas[1], budget_usd=str(budget))
    pair = clients(replicas, key)

    def call(i: int) -> str:
        try:
            pair[i % 2].chat.completions.create(
                model=HAIKU, messages=[{"role": "user", "content": "hi"}], max_tokens=20
            )
            return "ok"
        except openai.RateLimitError as e:
            assert e.body["code"] == "insufficient_quota"  # type: ignore[index]
            return "quota"

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(call, range(120)))
    rows_a = admin(replicas[0], "GET", "/requests", params={"key_id": key_id, "limit": 1000}).json()["data"]
    rows_b = admin(replicas[1], "GET", "/requests", params={"key_id": key_id, "limit": 1000}).json()["data"]
    assert rows_a == rows_b  # one shared ledger
    assert len(rows_a) == outcomes.count("ok") > 0 and outcomes.count("quota") > 0
    spent = sum(Decimal(r["cost"]) for r in rows_a)
    assert spent <= budget
    totals = admin(replicas[0], "GET", "/usage", params={"key_id": key_id}).json()["data"]
    assert Decimal(totals[0]["cost"]) == spent and totals[0]["requests"] == len(rows_a)


def test_revocation_reaches_the_other_replica_within_a_second(replicas: tuple[Gateway, Gateway]) -> None:
    key_id, key = new_key(replicas[0])
    a, b = clients(replicas, key)
    a.models.list()
    b.models.list()
    admin(replicas[0], "POST", f"/keys/{key_id}/revoke")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            b.models.list()
        except openai.AuthenticationError:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the other replica still accepted the revoked key after 1 s")
