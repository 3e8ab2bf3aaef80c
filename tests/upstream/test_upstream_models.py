"""Reading the providers' model lists through the sandbox: every page, and failures reported per provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from opentoken.providers.registry import all_providers
from opentoken.upstream.client import Deployment, UpstreamClient
from opentoken.upstream.models import list_models, listings
from opentoken_sandbox.app import running_sandbox

PROVIDERS = all_providers()


@pytest.fixture
async def sandbox() -> AsyncIterator[str]:
    async with running_sandbox() as url:
        yield url


def deployment(provider: str, url: str, key: str = "test-key") -> Deployment:
    return Deployment(f"{provider}-test", PROVIDERS[provider], url, key)


async def test_every_page_is_read(sandbox: str) -> None:
    anthropic: list[dict[str, Any]] = [
        {"type": "model", "id": f"claude-test-{i:04d}", "display_name": f"T{i}", "created_at": "2026-01-01T00:00:00Z"}
        for i in range(2345)
    ]
    gemini: list[dict[str, Any]] = [
        {"name": f"models/gemini-test-{i:04d}", "supportedGenerationMethods": ["generateContent"]} for i in range(2100)
    ]
    async with aiohttp.ClientSession() as http:
        async with http.put(sandbox + "/_sandbox/models", json={"anthropic": anthropic, "google": gemini}) as r:
            assert r.status == 200
        client = UpstreamClient()
        try:
            got = await list_models(client, deployment("anthropic", sandbox))
            assert [m.id for m in got] == [m["id"] for m in anthropic]
            got = await list_models(client, deployment("google", sandbox))
            assert [m.id for m in got] == [m["name"].removeprefix("models/") for m in gemini]
        finally:
            await client.close()
        async with http.get(sandbox + "/_sandbox/requests") as r:
            logged = (await r.json())["requests"]
    pages = [(e["path"], e["query"]) for e in logged]
    assert [q.get("after_id") for p, q in pages if p == "/v1/models"] == [None, "claude-test-0999", "claude-test-1999"]
    assert len([p for p, _ in pages if p == "/v1beta/models"]) == 3
    assert all(e["headers"].get("x-api-key") in (None, "REDACTED") for e in logged)


async def test_failures_are_reported_per_provider(sandbox: str) -> None:
    client = UpstreamClient()
    try:
        got = await listings(
            client, [deployment("anthropic", sandbox, key="invalid-key"), deployment("google", "http://127.0.0.1:9")]
        )
    finally:
        await client.close()
    assert [(x.provider, x.models) for x in got] == [("anthropic", ()), ("google", ())]
    assert got[0].error is not None and got[1].error is not None
    assert "invalid-key" not in got[0].error  # the credential never appears in a message
    assert "google-test" in got[1].error
