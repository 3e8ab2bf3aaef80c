"""The simulated Gemini API beyond generateContent: countTokens, embedContent / batchEmbedContents, and
grounding with Google Search."""

from __future__ import annotations

import math
from typing import Any

import pytest

HEADERS = {"x-goog-api-key": "test-key"}
EMBED = "/v1beta/models/gemini-embedding-001"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CONTENTS = [
    {
        "role": "user",
        "parts": [{"text": "Describe this picture"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}],
    }
]
SYSTEM = {"parts": [{"text": "You are terse. " * 10}]}
TOOLS = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {}}}]}]


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"text": value}]}


def norm(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values))


async def test_count_tokens_matches_generate_content_usage(sbx) -> None:
    request = {"contents": CONTENTS, "systemInstruction": SYSTEM, "tools": TOOLS}
    usage = (await sbx.gemini("gemini-2.5-flash", request)).json()["usageMetadata"]
    nested = {"generateContentRequest": {"model": "models/gemini-2.5-flash", **request}}
    counted = await sbx.post("/v1beta/models/gemini-2.5-flash:countTokens", nested, HEADERS)
    assert counted.status == 200, counted.text
    assert counted.json() == {
        "totalTokens": usage["promptTokenCount"],
        "promptTokensDetails": usage["promptTokensDetails"],
    }
    assert {d["modality"] for d in counted.json()["promptTokensDetails"]} == {"TEXT", "IMAGE"}
    plain = (await sbx.post("/v1beta/models/gemini-2.5-flash:countTokens", {"contents": CONTENTS}, HEADERS)).json()
    alone = (await sbx.gemini("gemini-2.5-flash", {"contents": CONTENTS})).json()["usageMetadata"]
    assert plain["totalTokens"] == alone["promptTokenCount"] < usage["promptTokenCount"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"generateContentRequest": {"contents": CONTENTS}}, "* CountTokensRequest.generate_content_request.model: model is not specified\n"),
        ({"generateContentRequest": {"model": "models/gemini-2.5-flash"}}, "* CountTokensRequest.generate_content_request.contents: contents is not specified\n"),
        ({"generateContentRequest": {"model": "gemini-2.5-flash", "contents": CONTENTS}}, "unexpected model name format"),
        ({}, "* CountTokensRequest.contents: contents is not specified\n"),
        ({"contents": [{"role": "robot", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
        ({"contents": CONTENTS, "systemInstruction": SYSTEM}, 'Unknown name "systemInstruction": Cannot find field.'),
        ({"generateContentRequest": {"model": "models/x", "contents": [{"parts": []}]}}, "* CountTokensRequest.generate_content_request.contents[0].parts: contents.parts must not be empty.\n"),
        ({"generateContentRequest": {"model": "models/x", "contents": CONTENTS, "generationConfig": {"topK": 1, "n": 2}}},
         "Unknown name \"n\" at 'generate_content_request.generation_config': Cannot find field."),
    ],
)  # fmt: skip
async def test_count_tokens_errors(sbx, body, message) -> None:
    reply = await sbx.post("/v1beta/models/gemini-2.5-flash:countTokens", body, HEADERS)
    assert reply.status == 400, reply.text
    assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert message in reply.json()["error"]["message"]


async def test_embed_content_vectors(sbx) -> None:
    full = await sbx.post(f"{EMBED}:embedContent", {"content": text("hello world")}, HEADERS)
    assert full.status == 200, full.text
    assert set(full.json()) == {"embedding"} and set(full.json()["embedding"]) == {"values"}  # no usage
    values = full.json()["embedding"]["values"]
    assert len(values) == 3072 and abs(norm(values) - 1) < 1e-5
    again = (await sbx.post(f"{EMBED}:embedContent", {"content": text("hello world")}, HEADERS)).json()
    assert again["embedding"]["values"] == values
    other = (await sbx.post(f"{EMBED}:embedContent", {"content": text("goodbye")}, HEADERS)).json()
    assert other["embedding"]["values"] != values
    short = (
        await sbx.post(f"{EMBED}:embedContent", {"content": text("hello world"), "outputDimensionality": 768}, HEADERS)
    ).json()
    short_values = short["embedding"]["values"]
    assert short_values == values[:768]  # a prefix of the full vector, not re-normalised
    assert 0.3 < norm(short_values) < 0.8
    query = {"content": text("hello world"), "taskType": "RETRIEVAL_QUERY"}
    assert (await sbx.post(f"{EMBED}:embedContent", query, HEADERS)).json()["embedding"]["values"] != values


async def test_title_counts_only_for_retrieval_documents(sbx) -> None:
    async def vector(**extra: Any) -> list[float]:
        reply = await sbx.post(f"{EMBED}:embedContent", {"content": text("doc body"), **extra}, HEADERS)
        values: list[float] = reply.json()["embedding"]["values"]
        return values

    document = await vector(taskType="RETRIEVAL_DOCUMENT")
    assert await vector(taskType="RETRIEVAL_DOCUMENT", title="Title") != document
    assert await vector(taskType="CLUSTERING", title="Title") == await vector(taskType="CLUSTERING")


async def test_batch_embed_contents(sbx) -> None:
    texts = [f"text number {n}" for n in range(100)]
    requests = [
        {"model": "models/gemini-embedding-001", "content": text(t), "outputDimensionality": 256} for t in texts
    ]
    batch = await sbx.post(f"{EMBED}:batchEmbedContents", {"requests": requests}, HEADERS)
    assert batch.status == 200, batch.text
    embeddings = batch.json()["embeddings"]
    assert set(batch.json()) == {"embeddings"} and len(embeddings) == 100
    single = await sbx.post(f"{EMBED}:embedContent", {"content": text(texts[37]), "outputDimensionality": 256}, HEADERS)
    assert embeddings[37]["values"] == single.json()["embedding"]["values"]
    too_many = await sbx.post(f"{EMBED}:batchEmbedContents", {"requests": [*requests, requests[0]]}, HEADERS)
    assert too_many.status == 400
    assert too_many.json()["error"] == {
        "code": 400,
        "message": "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n",
        "status": "INVALID_ARGUMENT",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requests": [{"content": text("x")}]}, "* BatchEmbedContentsRequest.requests[0].model: model is not specified\n"),
        ({"requests": [{"model": "gemini-embedding-001", "content": text("x")}]}, "requests[0].model: unexpected model name format"),
        ({"requests": [{"model": "models/text-embedding-004", "content": text("x")}]}, "requests[0].model: model must be the model of the URL"),
        ({"requests": []}, "* BatchEmbedContentsRequest.requests: requests is not specified\n"),
        ({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{}]}}]},
         "* BatchEmbedContentsRequest.requests[0].content.parts[0].data: required oneof field 'data' must have one initialized field\n"),
    ],
)  # fmt: skip
async def test_batch_errors(sbx, body, message) -> None:
    reply = await sbx.post(f"{EMBED}:batchEmbedContents", body, HEADERS)
    assert reply.status == 400 and message in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"content": text("x"), "outputDimensionality": 5000}, "output_dimensionality must be between 128 and 3072."),
        ({"content": text("x"), "outputDimensionality": 64}, "output_dimensionality must be between 128 and 3072."),
        ({"content": text("x"), "taskType": "SUMMARY"}, "Invalid value at 'task_type'"),
        ({"content": text("x"), "dimensions": 7}, 'Unknown name "dimensions": Cannot find field.'),
        ({}, "* EmbedContentRequest.content: content is not specified\n"),
    ],
)
async def test_embed_errors(sbx, body, message) -> None:
    reply = await sbx.post(f"{EMBED}:embedContent", body, HEADERS)
    assert reply.status == 400 and message in reply.json()["error"]["message"]


async def test_methods_follow_the_model_kind(sbx) -> None:
    chat = await sbx.post("/v1beta/models/gemini-2.5-flash:embedContent", {"content": text("x")}, HEADERS)
    assert chat.status == 404
    assert chat.json()["error"]["message"].startswith(
        "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for embedContent."
    )
    generate = await sbx.gemini("gemini-embedding-001", {"contents": [text("x")]})
    assert generate.status == 404 and "not supported for generateContent" in generate.json()["error"]["message"]
    counted = await sbx.post(f"{EMBED}:countTokens", {"contents": [text("count me please")]}, HEADERS)
    assert counted.status == 200 and counted.json()["totalTokens"] == 5  # 15 characters and one content
    no_key = await sbx.post(f"{EMBED}:embedContent", {"content": text("x")}, {})
    assert no_key.status == 403


async def test_faults_apply_to_embeddings_and_counting(sbx) -> None:
    limited = await sbx.post(
        f"{EMBED}:embedContent", {"content": text("x")}, {**HEADERS, "x-sandbox-fault": "status=429"}
    )
    assert limited.status == 429 and limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    marked = {"requests": [{"model": "models/gemini-embedding-001", "content": text("x [[fault:status=503]]")}]}
    assert (await sbx.post(f"{EMBED}:batchEmbedContents", marked, HEADERS)).status == 503
    await sbx.control("POST", "/_sandbox/faults", {"status": 500, "provider": "google"})
    assert (await sbx.post(f"{EMBED}:countTokens", {"contents": [text("x")]}, HEADERS)).status == 500
    assert (await sbx.post(f"{EMBED}:countTokens", {"contents": [text("x")]}, HEADERS)).status == 200


async def test_google_search_grounding(sbx) -> None:
    body = {"contents": [text("Search the news about Oslo")], "tools": [{"googleSearch": {}}]}
    candidate = (await sbx.gemini("gemini-3-flash-preview", body)).json()["candidates"][0]
    grounding = candidate["groundingMetadata"]
    assert grounding["webSearchQueries"] == ["Search the news about Oslo"]
    assert "renderedContent" in grounding["searchEntryPoint"]
    assert all(
        c["web"]["uri"].startswith("https://vertexaisearch.cloud.google.com/") for c in grounding["groundingChunks"]
    )
    (support,) = grounding["groundingSupports"]
    answer = candidate["content"]["parts"][0]["text"]
    assert answer.encode()[: support["segment"]["endIndex"]].decode() == support["segment"]["text"]
    assert support["groundingChunkIndices"] == [0, 1]
    chunks = (await sbx.gemini("gemini-3-flash-preview", body, stream=True)).gemini_chunks()
    assert "groundingMetadata" in chunks[-1]["candidates"][0]
    assert all("groundingMetadata" not in c["candidates"][0] for c in chunks[:-1])
    snake = {"contents": [text("search please")], "tools": [{"google_search": {}}]}
    assert "groundingMetadata" in (await sbx.gemini("gemini-2.5-flash", snake)).json()["candidates"][0]
    unasked = {"contents": [text("Hello")], "tools": [{"googleSearch": {}}]}
    assert "groundingMetadata" not in (await sbx.gemini("gemini-2.5-flash", unasked)).json()["candidates"][0]
