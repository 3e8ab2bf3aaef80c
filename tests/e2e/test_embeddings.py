"""``POST /v1/embeddings`` end to end with the official ``openai`` SDK against the gateway and the sandbox's
Gemini embedding model: one input, a batch larger than the provider's limit (order kept), ``dimensions``
(re-normalised), base64 and float giving the same vectors, usage from ``countTokens`` and cost in the ledger.
Every reply is validated against ``CreateEmbeddingResponse`` by the ``client`` fixture."""

from __future__ import annotations

import base64
import math
import struct
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.servers import Gateway

MODEL = "google/gemini-embedding-001"
PRICE_PER_MILLION = Decimal("0.15")


def gemini_calls(sandbox: httpx.Client) -> list[dict[str, Any]]:
    return list(sandbox.get("/_sandbox/requests", params={"provider": "google"}).json()["requests"])


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(v * v for v in vector))


def test_one_input(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    raw = client.embeddings.with_raw_response.create(model=MODEL, input="The quick brown fox", encoding_format="float")
    reply = raw.parse()
    [item] = reply.data
    assert reply.model == MODEL and item.index == 0 and len(item.embedding) == 3072
    assert abs(norm(item.embedding) - 1) < 1e-5
    assert reply.usage.prompt_tokens > 0 and reply.usage.total_tokens == reply.usage.prompt_tokens
    calls = [c["path"] for c in gemini_calls(sandbox)]
    assert any(p.endswith(":batchEmbedContents") for p in calls) and any(p.endswith(":countTokens") for p in calls)
    assert Decimal(raw.headers["x-opentoken-cost-usd"]) == PRICE_PER_MILLION * reply.usage.prompt_tokens / 1_000_000
    again = client.embeddings.create(model=MODEL, input="The quick brown fox", encoding_format="float")
    assert again.data[0].embedding == item.embedding  # deterministic


def test_batch_larger_than_the_provider_limit_keeps_order(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    texts = [f"document number {n}" for n in range(250)]
    reply = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
    assert [d.index for d in reply.data] == list(range(250))
    batches = [c for c in gemini_calls(sandbox) if c["path"].endswith(":batchEmbedContents")]
    assert [len(b["body"]["requests"]) for b in batches] == [100, 100, 50]
    sent = [r["content"]["parts"][0]["text"] for b in batches for r in b["body"]["requests"]]
    assert sent == texts
    single = client.embeddings.create(model=MODEL, input=texts[137], encoding_format="float")
    assert reply.data[137].embedding == single.data[0].embedding  # the 137th vector belongs to the 137th text


def test_dimensions_are_truncated_and_renormalised(client: openai.OpenAI, sandbox: httpx.Client) -> None:
    full = client.embeddings.create(model=MODEL, input="tides", encoding_format="float").data[0].embedding
    short = (
        client.embeddings.create(model=MODEL, input="tides", dimensions=256, encoding_format="float").data[0].embedding
    )
    assert len(short) == 256 and abs(norm(short) - 1) < 1e-5
    scale = norm(full[:256])
    assert all(abs(s - f / scale) < 1e-6 for s, f in zip(short, full[:256], strict=True))  # the same direction
    request = next(c for c in reversed(gemini_calls(sandbox)) if c["path"].endswith(":batchEmbedContents"))
    assert request["body"]["requests"][0]["outputDimensionality"] == 256
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=MODEL, input="tides", dimensions=4096)
    assert info.value.body["param"] == "dimensions"  # type: ignore[index]


def test_base64_and_float_give_the_same_vectors(gateway: Gateway) -> None:
    texts = ["alpha", "beta"]
    body = {"model": MODEL, "input": texts}
    headers = {"authorization": f"Bearer {gateway.key}"}
    floats = httpx.post(gateway.v1 + "/embeddings", json={**body, "encoding_format": "float"}, headers=headers).json()
    packed = httpx.post(gateway.v1 + "/embeddings", json={**body, "encoding_format": "base64"}, headers=headers).json()
    for f, b in zip(floats["data"], packed["data"], strict=True):
        raw = base64.b64decode(b["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == f["embedding"]  # little-endian float32, same values
    sdk = openai.OpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0)
    default = sdk.embeddings.create(model=MODEL, input=texts)  # the SDK asks for base64 and decodes it itself
    assert [d.embedding for d in default.data] == [f["embedding"] for f in floats["data"]]


def test_cost_is_in_the_ledger(gateway: Gateway, client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(model=MODEL, input=["one", "two", "three"])
    reply = raw.parse()
    rows = httpx.get(
        gateway.url + "/admin/v1/requests",
        params={"limit": 1000},
        headers={"authorization": f"Bearer {gateway.admin_key}"},
    ).json()["data"]
    [row] = [r for r in rows if r["request_id"] == raw.headers["x-request-id"]]
    assert row["model"] == MODEL and row["status"] == 200 and row["output_tokens"] == 0
    assert row["input_tokens"] == reply.usage.prompt_tokens
    assert Decimal(str(row["cost"])) == PRICE_PER_MILLION * reply.usage.prompt_tokens / 1_000_000


def test_wrong_kind_of_model_is_a_clear_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="google/gemini-3-flash", input="x")
    assert info.value.body["param"] == "model" and "chat model" in info.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert chat.value.body["param"] == "model" and "embedding model" in chat.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as responses:
        client.responses.create(model=MODEL, input="x")
    assert responses.value.body["code"] == "model_not_supported"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model=MODEL, input=["fine", " "])
    assert empty.value.body["param"] == "input[1]"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as tokens:
        client.embeddings.create(model=MODEL, input=[[1, 2, 3]])
    assert tokens.value.body["param"] == "input[0]"  # type: ignore[index]
