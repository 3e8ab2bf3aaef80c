"""The live catalog on two replicas sharing PostgreSQL and Redis: a price changed through the admin API is
charged from its ``effective_from`` on both (a change scheduled ahead takes effect at its time, with no
restart), and a disabled model answers ``model_not_found`` on every replica within a second, whether it was
disabled through the admin API or the CLI. Each test uses models of its own (created through the admin API).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import REDIS, Gateway, postgres_replicas

MILLION = Decimal(1_000_000)


@pytest.fixture(scope="module")
def replicas(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    data_dir = Path(tmp_path_factory.mktemp("catalog-replicas"))
    with postgres_replicas(data_dir, sandbox_url, "catalog_" + secrets.token_hex(4), OPENTOKEN_REDIS_URL=REDIS) as pair:
        yield pair


def admin(gw: Gateway, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, gw.url + "/admin/v1" + path, headers={"Authorization": f"Bearer {gw.admin_key}"}, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def new_model(gw: Gateway, input: str, output: str) -> str:
    model_id = f"anthropic/e2e-{secrets.token_hex(3)}"
    body = {
        "id": model_id,
        "upstream_model": "claude-haiku-4-5",
        "context_window": 200000,
        "max_output_tokens": 8192,
        "reasoning": "anthropic_budget",
        "prices": {"input": input, "output": output},
    }
    admin(gw, "POST", "/models", json=body)
    return model_id


def call(gw: Gateway, model: str) -> str:
    """One chat call; returns the gateway's request id."""
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": "hi"}])
    raw.parse()
    return str(raw.headers["x-request-id"])


def refused(gw: Gateway, model: str) -> bool:
    try:
        call(gw, model)
    except openai.BadRequestError as e:
        assert e.code == "model_not_found", e.body
        return True
    return False


def until(check: Any, limit: float) -> float:
    """Seconds until ``check()`` holds (polled every 10 ms); fails past ``limit``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < limit, f"not true within {limit} s"
        time.sleep(0.01)
    return time.monotonic() - started


def ledger(gw: Gateway, request_ids: list[str]) -> list[dict[str, Any]]:
    rows = {r["request_id"]: r for r in admin(gw, "GET", "/requests", params={"limit": 1000})["data"]}
    return [rows[i] for i in request_ids]


def charged_at(row: dict[str, Any], input: str, output: str) -> bool:
    details = row["cost_details"]
    return (
        Decimal(details["input"]) == row["input_tokens"] * Decimal(input) / MILLION
        and Decimal(details["output"]) == (row["output_tokens"] - row["reasoning_tokens"]) * Decimal(output) / MILLION
    )


def listed_price(gw: Gateway, model: str) -> str:
    models = httpx.get(gw.v1 + "/models", headers={"Authorization": f"Bearer {gw.key}"}).json()["data"]
    return str(next(m for m in models if m["id"] == model)["pricing"]["per_million"]["input"])


def test_a_price_change_is_charged_from_its_effective_from_on_both_replicas(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    model = new_model(a, "1", "5")
    until(lambda: not refused(b, model), 1.0)
    effective = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    admin(
        b,
        "POST",
        f"/models/{model}/prices",
        json={"input": "2", "output": "11", "effective_from": effective.isoformat()},
    )
    before: list[str] = []
    for gw in (a, b, a, b):
        before.append(call(gw, model))
    assert datetime.now(UTC) < effective - timedelta(seconds=0.5), "the calls before the change were too slow to tell"
    assert listed_price(a, model) == listed_price(b, model) == "1"
    time.sleep(max(0.0, (effective - datetime.now(UTC)).total_seconds()) + 0.05)  # no restart, no admin call
    after = [call(gw, model) for gw in (a, b, a, b)]
    assert listed_price(a, model) == listed_price(b, model) == "2"
    old_rows, new_rows = ledger(a, before), ledger(b, after)
    assert all(charged_at(r, "1", "5") and not charged_at(r, "2", "11") for r in old_rows), old_rows
    assert all(charged_at(r, "2", "11") for r in new_rows), new_rows
    assert all(r["input_tokens"] > 0 and Decimal(r["cost"]) > 0 for r in old_rows + new_rows)
    written = [datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) for r in old_rows + new_rows]
    assert max(written[:4]) < effective < min(written[4:])  # the ledger rows fall on either side of it
    assert ledger(b, before) == old_rows  # past rows never change
    history = admin(a, "GET", f"/models/{model}/prices")["data"]
    assert [(p["prices"]["input"], p["in_force"]) for p in history] == [("1", False), ("2", True)]


def test_a_disabled_model_is_refused_on_every_replica_within_a_second(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    model = new_model(a, "1", "5")
    until(lambda: not refused(a, model) and not refused(b, model), 1.0)
    admin(a, "POST", f"/models/{model}/disable")
    took = until(lambda: refused(b, model), 1.0)
    assert refused(a, model)  # the replica that made the change refuses at once
    print(f"\ndisable through the admin API reached the other replica in {took * 1000:.0f} ms")
    admin(b, "POST", f"/models/{model}/enable")
    until(lambda: not refused(a, model), 1.0)


def test_a_model_disabled_with_the_cli_is_refused_everywhere_within_a_second(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    model = new_model(b, "1", "5")
    until(lambda: not refused(a, model) and not refused(b, model), 1.0)
    out = subprocess.run(
        [sys.executable, "-m", "opentoken", "catalog", "disable", model], env=a.env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    took = max(until(lambda: refused(a, model), 1.0), until(lambda: refused(b, model), 1.0))
    print(f"\ndisable with the CLI reached both replicas in {took * 1000:.0f} ms")


def test_a_key_revoked_with_the_cli_stops_on_every_replica_within_a_second(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    created = admin(a, "POST", "/keys", json={"name": "cli-revoke"})
    clients = [openai.OpenAI(base_url=gw.v1, api_key=created["key"], max_retries=0) for gw in (a, b)]
    for client in clients:
        client.models.list()  # cached on both replicas

    def rejected(client: openai.OpenAI) -> bool:
        try:
            client.models.list()
        except openai.AuthenticationError:
            return True
        return False

    out = subprocess.run(
        [sys.executable, "-m", "opentoken", "keys", "revoke", created["id"]], env=a.env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    took = max(until(lambda: rejected(clients[0]), 1.0), until(lambda: rejected(clients[1]), 1.0))
    print(f"\nkey revoked with the CLI refused on both replicas after {took * 1000:.0f} ms")
