"""Model lifecycle and names through real processes and the official openai SDK: a retired model answered by
its successor (the default, so the product page's example id keeps working) or refused with 410
``model_retired``; deprecation headers; aliases; disabled models; and ``opentoken catalog sync`` against the
sandbox's model lists."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import httpx2 as httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from support.servers import Gateway, gateway_env, gateway_process, run_cli, sandbox_process

RETIRED, SUCCESSOR = "anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-6"
HAIKU = "anthropic/claude-haiku-4-5"
HI = [{"role": "user", "content": "hi"}]
SUNSET = "Mon, 30 Nov 2026 00:00:00 GMT"


def sdk(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.key, max_retries=0)


def admin(gw: Gateway, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, gw.url + "/admin/v1" + path, headers={"Authorization": f"Bearer {gw.admin_key}"}, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def upstream_models(sandbox: httpx.Client) -> list[str]:
    return [r["model"] for r in sandbox.get("/_sandbox/requests", params={"provider": "anthropic"}).json()["requests"]]


def test_the_example_id_is_answered_by_its_successor_and_says_so(gateway: Gateway, sandbox: httpx.Client) -> None:
    raw = sdk(gateway).chat.completions.with_raw_response.create(model=RETIRED, messages=HI)
    completion = raw.parse()
    assert completion.model == SUCCESSOR and completion.choices[0].message.content
    headers = raw.headers
    assert headers["x-opentoken-retired-model"] == RETIRED and headers["x-opentoken-successor-model"] == SUCCESSOR
    assert headers["sunset"] == SUNSET and parsedate_to_datetime(headers["sunset"]) == datetime(
        2026, 11, 30, tzinfo=UTC
    )
    assert headers["deprecation"] == f"@{int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())}"
    assert headers["link"] == f'</v1/models/{SUCCESSOR}>; rel="successor-version"'
    assert upstream_models(sandbox) == ["claude-sonnet-4-6"]
    rows = admin(gateway, "GET", "/requests", params={"limit": 5})["data"]
    row = next(r for r in rows if r["request_id"] == headers["x-request-id"])
    assert (row["model"], row["upstream_model"]) == (SUCCESSOR, "claude-sonnet-4-6")


def test_a_streamed_call_to_a_retired_model_carries_the_same_headers(gateway: Gateway) -> None:
    with sdk(gateway).chat.completions.with_streaming_response.create(
        model="claude-sonnet-4-5", messages=HI, stream=True
    ) as resp:
        assert resp.headers["x-opentoken-successor-model"] == SUCCESSOR and resp.headers["sunset"] == SUNSET
        chunks = list(cast(Iterable[ChatCompletionChunk], resp.parse()))
    assert chunks and all(c.model == SUCCESSOR for c in chunks)


def test_anthropic_ids_are_aliases_of_the_entries(gateway: Gateway, sandbox: httpx.Client) -> None:
    raw = sdk(gateway).chat.completions.with_raw_response.create(model="claude-haiku-4-5-20251001", messages=HI)
    assert raw.parse().model == HAIKU and "deprecation" not in raw.headers
    assert upstream_models(sandbox) == ["claude-haiku-4-5"]
    ids = [m.id for m in sdk(gateway).models.list()]
    assert HAIKU in ids and SUCCESSOR in ids and RETIRED not in ids and "claude-haiku-4-5-20251001" not in ids


def test_a_deprecated_model_answers_normally_with_deprecation_headers(gateway: Gateway) -> None:
    model = f"anthropic/e2e-old-{secrets.token_hex(3)}"
    deprecated, retired = date.today() - timedelta(days=1), date.today() + timedelta(days=60)
    admin(
        gateway,
        "POST",
        "/models",
        json={
            "id": model,
            "upstream_model": "claude-haiku-4-5",
            "context_window": 200000,
            "max_output_tokens": 8192,
            "prices": {"input": "1", "output": "5"},
            "deprecated": deprecated.isoformat(),
            "retired": retired.isoformat(),
            "successor": HAIKU,
        },
    )
    raw = sdk(gateway).chat.completions.with_raw_response.create(model=model, messages=HI)
    assert raw.parse().model == model
    midnight = datetime(deprecated.year, deprecated.month, deprecated.day, tzinfo=UTC)
    assert raw.headers["deprecation"] == f"@{int(midnight.timestamp())}"
    assert parsedate_to_datetime(raw.headers["sunset"]).date() == retired
    assert raw.headers["link"] == f'</v1/models/{HAIKU}>; rel="successor-version"'
    assert "x-opentoken-successor-model" not in raw.headers
    assert model in [m.id for m in sdk(gateway).models.list()]


def test_a_disabled_model_is_not_found_and_not_listed(gateway: Gateway) -> None:
    model = f"google/e2e-off-{secrets.token_hex(3)}"
    body = {"id": model, "upstream_model": "gemini-2.5-flash", "context_window": 1000000, "max_output_tokens": 8192}
    admin(gateway, "POST", "/models", json={**body, "prices": {"input": "0.3", "output": "2.5"}})
    assert sdk(gateway).chat.completions.create(model=model, messages=HI).model == model
    admin(gateway, "POST", f"/models/{model}/disable")
    with pytest.raises(openai.BadRequestError) as info:
        sdk(gateway).chat.completions.create(model=model, messages=HI)
    assert info.value.code == "model_not_found" and info.value.body["param"] == "model"  # type: ignore[index]
    assert model not in [m.id for m in sdk(gateway).models.list()]
    with pytest.raises(openai.NotFoundError):
        sdk(gateway).models.retrieve(model)


@pytest.fixture(scope="module")
def refusing(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = gateway_env(tmp_path_factory.mktemp("refusing"), sandbox_url, OPENTOKEN_RETIRED_MODELS="refuse")
    with gateway_process(env) as gw:
        yield gw


def test_the_refuse_policy_answers_410_model_retired_naming_the_successor(
    refusing: Gateway, sandbox: httpx.Client
) -> None:
    for name in (RETIRED, "claude-sonnet-4-5-20250929"):
        with pytest.raises(openai.APIStatusError) as info:
            sdk(refusing).chat.completions.create(model=name, messages=HI)
        err = info.value
        assert err.status_code == 410 and err.code == "model_retired" and SUCCESSOR in err.message
        assert err.body["param"] == "model" and err.body["type"] == "invalid_request_error"  # type: ignore[index]
        assert err.response.headers["sunset"] == SUNSET and SUCCESSOR in err.response.headers["link"]
        assert err.response.headers["x-should-retry"] == "false"
    assert upstream_models(sandbox) == []  # refused before any upstream call
    assert sdk(refusing).chat.completions.create(model=SUCCESSOR, messages=HI).model == SUCCESSOR


@pytest.mark.timeout(300)  # six CLI processes
def test_catalog_sync_against_the_sandbox_lists(tmp_path: Path) -> None:
    with sandbox_process() as url:
        env = gateway_env(tmp_path, url)
        report = json.loads(run_cli("catalog", "sync", "--json", env=env))
        assert [(p["provider"], p["error"]) for p in report["providers"]] == [("anthropic", None), ("google", None)]
        assert (report["new"], report["unlisted"]) == ([], [])  # the sandbox lists what the catalog serves
        lists = httpx.get(url + "/_sandbox/models").json()
        opus_47 = {
            "type": "model",
            "id": "claude-opus-4-7",
            "display_name": "Claude Opus 4.7",
            "created_at": "2026-12-01T00:00:00Z",
        }
        gemini_new = {
            "name": "models/gemini-3.5-flash",
            "displayName": "Gemini 3.5 Flash",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent"],
            "thinking": True,
        }
        anthropic = [opus_47, *(m for m in lists["anthropic"] if m["id"] != "claude-opus-4-1-20250805")]
        r = httpx.put(url + "/_sandbox/models", json={"anthropic": anthropic, "google": [*lists["google"], gemini_new]})
        assert r.status_code == 200
        report = json.loads(run_cli("catalog", "sync", "--json", env=env))
        assert [n["id"] for n in report["new"]] == ["anthropic/claude-opus-4-7", "google/gemini-3.5-flash"]
        assert [u["id"] for u in report["unlisted"]] == ["anthropic/claude-opus-4-1"]
        done = json.loads(
            run_cli("catalog", "sync", "--add", "google/gemini-3.5-flash", "--disable-all", "--json", env=env)
        )
        assert (done["added"], done["disabled"]) == (["google/gemini-3.5-flash"], ["anthropic/claude-opus-4-1"])
        models = {m["id"]: m for m in json.loads(run_cli("catalog", "list", "--json", env=env))["data"]}
        added = models["google/gemini-3.5-flash"]
        assert (added["state"], added["prices"], added["context_window"], added["max_output_tokens"]) == (
            "disabled",
            None,
            1048576,
            65536,
        )
        assert added["capabilities"]["reasoning"] is True and added["upstream_model"] == "gemini-3.5-flash"
        assert models["anthropic/claude-opus-4-1"]["state"] == "disabled"
        assert "anthropic/claude-opus-4-7" not in models  # only what the operator named
        run_cli("catalog", "price", "google/gemini-3.5-flash", "--input", "0.5", "--output", "3", env=env)
        enabled = json.loads(run_cli("catalog", "enable", "google/gemini-3.5-flash", "--json", env=env))
        assert enabled["state"] == "active" and enabled["prices"]["input"] == "0.5"
