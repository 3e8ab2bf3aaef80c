"""Every upstream model of the shipped catalog, and the embedding model, is served as the real API serves it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "src" / "opentoken" / "catalog" / "models.toml"
MODELS = [entry["upstream_model"] for entry in tomllib.loads(CATALOG.read_text())["model"]]
CLAUDE = [m for m in MODELS if m.startswith("claude-")]
GEMINI = [m for m in MODELS if m.startswith("gemini-")]
HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


def test_the_catalog_has_both_providers() -> None:
    assert CLAUDE and GEMINI and len(CLAUDE) + len(GEMINI) == len(MODELS)


@pytest.mark.parametrize("model", CLAUDE)
async def test_claude_models_answer_and_count(sbx, model) -> None:
    body = {"model": model, "max_tokens": 2048, "messages": [{"role": "user", "content": "Hello"}]}
    reply = await sbx.anthropic({**body, "thinking": {"type": "enabled", "budget_tokens": 1024}})
    assert reply.status == 200, reply.text
    assert reply.json()["model"].startswith(model)
    counted = await sbx.post("/v1/messages/count_tokens", {"model": model, "messages": body["messages"]}, HEADERS)
    assert counted.status == 200 and counted.json()["input_tokens"] == reply.json()["usage"]["input_tokens"]


@pytest.mark.parametrize("model", GEMINI)
async def test_gemini_models_answer_and_count(sbx, model) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}
    reply = await sbx.gemini(model, body)
    assert reply.status == 200, reply.text
    assert reply.json()["modelVersion"] == model
    counted = await sbx.post(f"/v1beta/models/{model}:countTokens", body, {"x-goog-api-key": "k"})
    assert counted.status == 200 and counted.json()["totalTokens"] == reply.json()["usageMetadata"]["promptTokenCount"]


async def test_the_embedding_model_embeds(sbx) -> None:
    body = {"content": {"parts": [{"text": "Hello"}]}}
    reply = await sbx.post("/v1beta/models/gemini-embedding-001:embedContent", body, {"x-goog-api-key": "k"})
    assert reply.status == 200 and len(reply.json()["embedding"]["values"]) == 3072
