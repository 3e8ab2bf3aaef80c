"""Operations surface of a real gateway: ``/metrics`` behind its own token or on its own port, the Grafana dashboard's
queries against a real scrape, and the access log (one JSON line per request, no secret in any line the
process wrote)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.leaks import PROVIDER_KEYS, leaked
from support.reliability import USER, Sandbox, complete, failing, stream
from support.servers import Gateway, free_port, gateway_env, gateway_process, sandbox_process

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "opentoken.json"
SONNET = "anthropic/claude-sonnet-4-6"
FLASH = "google/gemini-3-flash"
METRICS_TOKEN = "metrics-scrape-secret-5b1f"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    with sandbox_process() as url:
        yield Sandbox(url)


@pytest.fixture(scope="module")
def gw(upstream: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = gateway_env(tmp_path_factory.mktemp("ops"), upstream.url, OPENTOKEN_METRICS_TOKEN=METRICS_TOKEN)
    with gateway_process(env) as g:
        yield g


def admin(gw: Gateway, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, gw.url + "/admin/v1" + path, headers={"authorization": f"Bearer {gw.admin_key}"}, **kw)


def scrape(url: str, token: str | None = METRICS_TOKEN) -> httpx.Response:
    return httpx.get(url, headers={"authorization": f"Bearer {token}"} if token else {})


def traffic(gw: Gateway, upstream: Sandbox) -> None:
    """A bit of everything the dashboard shows: a chat, a stream, a retried call, a refused admission."""
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.key, max_retries=0)
    complete(client, model=SONNET, messages=USER)
    assert stream(client, model=FLASH, messages=USER).error is None
    upstream.fault(count=1, status=529, provider="anthropic", retry_after=0)
    complete(client, model=SONNET, messages=USER)
    limited = openai.OpenAI(
        base_url=gw.v1, api_key=admin(gw, "POST", "/keys", json={"name": "l", "rpm": 1}).json()["key"]
    )
    limited.chat.completions.create(model=SONNET, messages=USER)
    assert failing(limited.with_options(max_retries=0), model=SONNET, messages=USER)[1].status_code == 429


def test_metrics_need_their_own_token(gw: Gateway) -> None:
    assert scrape(gw.url + "/metrics", None).status_code == 401
    assert scrape(gw.url + "/metrics", gw.admin_key).status_code == 401  # the metrics token replaces it
    denied = scrape(gw.url + "/metrics", "wrong")
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    assert scrape(gw.url + "/metrics").status_code == 200


_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions, keywords, label names
    (inside ``{}`` or ``by (...)``), durations or numbers."""
    expr = re.sub(r'"[^"]*"', "", expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        follows = expr[m.end() :].lstrip()[:1]
        if m.group() not in _PROMQL_WORDS and follows != "(":
            names.add(m.group())
    return names


def test_metric_names_parser() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(opentoken_x_bucket{a="b(c)"}[$__rate_interval]))) / sum(y)'
    )
    assert metric_names(expr) == {"opentoken_x_bucket", "y"}


def exported_names(text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_every_dashboard_query_uses_an_exported_metric(gw: Gateway, upstream: Sandbox) -> None:
    traffic(gw, upstream)
    text = scrape(gw.url + "/metrics").text
    exported = exported_names(text)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 14
    used = set().union(*(metric_names(e) for e in exprs))
    assert used and used <= exported, sorted(used - exported)
    # the series the issue asks for carry what the traffic did
    assert re.search(r'^opentoken_admissions_refused_total\{reason="requests"\} [1-9]', text, re.M)
    assert re.search(
        r'^opentoken_deployment_attempts_total\{deployment="anthropic-default",outcome="overloaded"\} 1\.0', text, re.M
    )
    assert re.search(
        r'^opentoken_deployment_attempts_total\{deployment="google-default",outcome="ok"\} 1\.0', text, re.M
    )
    assert re.search(r"^opentoken_requests_in_flight 1\.0", text, re.M)  # the scrape itself
    assert re.search(r"^opentoken_ledger_queue_depth 0\.0", text, re.M)
    assert re.search(r"^opentoken_ledger_commit_seconds_count [1-9]", text, re.M)
    assert re.search(r'^opentoken_time_to_first_token_seconds_count\{model="google/gemini-3-flash"\} 1\.0', text, re.M)
    assert re.search(
        r'^opentoken_http_request_duration_seconds_count\{method="POST",route="/v1/chat/completions",status="429"\} 1\.0',
        text,
        re.M,
    )


def test_metrics_on_a_port_of_their_own(upstream: Sandbox, tmp_path: Path) -> None:
    port = free_port()
    env = gateway_env(tmp_path, upstream.url, OPENTOKEN_METRICS_PORT=str(port), OPENTOKEN_METRICS_TOKEN=METRICS_TOKEN)
    with gateway_process(env) as g:
        assert scrape(g.url + "/metrics").status_code == 404  # not on the main port any more
        side = f"http://127.0.0.1:{port}/metrics"
        assert scrape(side, None).status_code == 401
        ok = scrape(side)
        assert ok.status_code == 200 and "opentoken_requests_in_flight" in ok.text


def test_one_access_line_per_request_and_no_secret_in_any_line(upstream: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    env = gateway_env(
        tmp_path,
        upstream.url,
        OPENTOKEN_LOG_FORMAT="json",
        OPENTOKEN_LOG_LEVEL="debug",
        OPENTOKEN_METRICS_TOKEN=METRICS_TOKEN,
    )
    secrets = [env["OPENTOKEN_ADMIN_KEY"], METRICS_TOKEN, *PROVIDER_KEYS]
    ids: dict[str, str] = {}
    with gateway_process(env, log=log) as g:
        secrets.append(g.key)
        client = openai.OpenAI(base_url=g.v1, api_key=g.key, max_retries=0)
        rid, resp = complete(client, model=SONNET, messages=USER)
        ids["chat"] = rid
        ids["stream"] = stream(client, model=FLASH, messages=USER).request_id
        upstream.fault(count=1, status=401, provider="anthropic")  # the provider refuses the gateway's key
        ids["upstream_401"] = failing(client, model=SONNET, messages=USER)[0]
        created = admin(g, "POST", "/keys", json={"name": "revoked-later"}).json()
        secrets.append(created["key"])
        admin(g, "POST", f"/keys/{created['id']}/revoke")
        revoked = openai.OpenAI(base_url=g.v1, api_key=created["key"], max_retries=0)
        ids["revoked"] = failing(revoked, model=SONNET, messages=USER)[0]
        wrong = "ot-" + "x" * 40
        secrets.append(wrong)
        ids["wrong_key"] = failing(
            openai.OpenAI(base_url=g.v1, api_key=wrong, max_retries=0), model=SONNET, messages=USER
        )[0]
        assert httpx.get(g.url + "/admin/v1/keys", headers={"authorization": f"Bearer {wrong}"}).status_code == 401
        assert scrape(g.url + "/metrics", wrong).status_code == 401
        assert scrape(g.url + "/metrics").status_code == 200
    assert not leaked(log, secrets)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    not_json = [line for line in lines if line.strip() and not line.startswith("{")]
    assert len(not_json) == 1 and not_json[0].startswith("opentoken gateway on ")  # the start-up banner
    for line in lines:
        for secret in secrets:
            assert secret not in line, f"a secret was logged: {line}"
            assert secret[10:] not in line  # not even the part after the displayed prefix
    access = {r["request_id"]: r for r in records if r["logger"] == "opentoken.access"}
    key_id = access[ids["chat"]]["key_id"]
    assert access[ids["chat"]] | {"time": None, "latency_ms": None, "ttft_ms": None} == {
        "time": None,
        "level": "info",
        "logger": "opentoken.access",
        "message": "request",
        "request_id": ids["chat"],
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "latency_ms": None,
        "ttft_ms": None,
        "key_id": key_id,
        "ingress": "openai_chat",
        "model": SONNET,
        "answered_model": SONNET,
        "provider": "anthropic",
        "deployment": "anthropic-default",
        "stream": False,
        "attempts": 1,
        "input_tokens": resp.usage.prompt_tokens,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": resp.usage.completion_tokens,
        "reasoning_tokens": 0,
        "cost_usd": access[ids["chat"]]["cost_usd"],
    }
    assert float(access[ids["chat"]]["cost_usd"]) > 0 and access[ids["chat"]]["latency_ms"] > 0
    s = access[ids["stream"]]
    assert s["stream"] is True and s["ttft_ms"] > 0 and s["provider"] == "google" and s["output_tokens"] > 0
    failed = access[ids["upstream_401"]]
    assert (failed["status"], failed["error"], failed["attempts"]) == (502, "upstream_credentials_rejected", 1)
    assert (access[ids["revoked"]]["status"], access[ids["revoked"]]["error"]) == (401, "api_key_revoked")
    assert (access[ids["wrong_key"]]["status"], access[ids["wrong_key"]]["error"]) == (401, "invalid_api_key")
    assert "key_id" not in access[ids["wrong_key"]]
    per_request = [r for r in records if r["logger"] == "opentoken.access" and r["request_id"] in ids.values()]
    assert len(per_request) == len(ids)  # exactly one line each
