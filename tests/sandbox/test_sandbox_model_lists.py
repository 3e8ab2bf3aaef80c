"""The sandbox's model lists: Anthropic ``GET /v1/models`` and Gemini ``GET /v1beta/models`` in their real
shapes and paging, their auth errors, and the control endpoint that replaces the lists."""

from __future__ import annotations

from typing import Any

ANTHROPIC_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
GEMINI_HEADERS = {"x-goog-api-key": "test-key"}
SandboxClient = Any  # tests/sandbox/conftest.py


async def get(sbx: SandboxClient, path: str, headers: dict[str, str], **params: str) -> tuple[int, Any]:
    async with sbx.http.get(sbx.url + path, headers=headers, params=params) as r:
        return r.status, await r.json(content_type=None)


async def test_anthropic_list_has_the_real_shape(sbx: SandboxClient) -> None:
    status, body = await get(sbx, "/v1/models", ANTHROPIC_HEADERS)
    assert status == 200 and set(body) == {"data", "has_more", "first_id", "last_id"}
    assert body["has_more"] is False and body["first_id"] == body["data"][0]["id"] == "claude-sonnet-4-6"
    for model in body["data"]:
        assert set(model) == {"type", "id", "display_name", "created_at"} and model["type"] == "model"
        assert model["created_at"].endswith("Z")
    assert "claude-sonnet-4-5-20250929" not in {m["id"] for m in body["data"]}  # retired on 2026-11-30


async def test_anthropic_pages_forward_and_back(sbx: SandboxClient) -> None:
    everything = [m["id"] for m in (await get(sbx, "/v1/models", ANTHROPIC_HEADERS))[1]["data"]]
    seen: list[str] = []
    after: dict[str, str] = {}
    while True:
        status, page = await get(sbx, "/v1/models", ANTHROPIC_HEADERS, limit="2", **after)
        assert status == 200 and len(page["data"]) <= 2
        seen += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            break
        after = {"after_id": page["last_id"]}
    assert seen == everything and len(everything) == 5
    _, back = await get(sbx, "/v1/models", ANTHROPIC_HEADERS, limit="2", before_id=everything[3])
    assert [m["id"] for m in back["data"]] == everything[1:3] and back["has_more"] is True


async def test_anthropic_list_errors(sbx: SandboxClient) -> None:
    status, body = await get(sbx, "/v1/models", {"anthropic-version": "2023-06-01"})
    assert status == 401 and body["error"]["type"] == "authentication_error"
    status, body = await get(sbx, "/v1/models", ANTHROPIC_HEADERS, limit="0")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


async def test_gemini_list_has_the_real_shape_and_pages(sbx: SandboxClient) -> None:
    status, body = await get(sbx, "/v1beta/models", GEMINI_HEADERS)
    assert status == 200 and "nextPageToken" not in body
    flash = next(m for m in body["models"] if m["name"] == "models/gemini-2.5-flash")
    assert {"name", "baseModelId", "version", "displayName", "inputTokenLimit", "outputTokenLimit"} <= set(flash)
    assert "generateContent" in flash["supportedGenerationMethods"] and flash["thinking"] is True
    names: list[str] = []
    token: dict[str, str] = {}
    while True:
        status, page = await get(sbx, "/v1beta/models", GEMINI_HEADERS, pageSize="4", **token)
        assert status == 200
        names += [m["name"] for m in page["models"]]
        if "nextPageToken" not in page:
            break
        token = {"pageToken": page["nextPageToken"]}
    assert names == [m["name"] for m in body["models"]]


async def test_gemini_list_errors(sbx: SandboxClient) -> None:
    status, body = await get(sbx, "/v1beta/models", {})
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    status, body = await get(sbx, "/v1beta/models", {"x-goog-api-key": "invalid-key"})
    assert status == 400 and body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    status, body = await get(sbx, "/v1beta/models", GEMINI_HEADERS, pageToken="garbage")
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


async def test_the_lists_can_be_replaced_and_reset(sbx: SandboxClient) -> None:
    mine = [{"type": "model", "id": "claude-x-1", "display_name": "X", "created_at": "2026-12-01T00:00:00Z"}]
    status, _ = await sbx.control("PUT", "/_sandbox/models", {"anthropic": mine})
    assert status == 200
    assert (await get(sbx, "/v1/models", ANTHROPIC_HEADERS))[1]["data"] == mine
    assert len((await get(sbx, "/v1beta/models", GEMINI_HEADERS))[1]["models"]) == 6  # untouched
    status, body = await sbx.control("PUT", "/_sandbox/models", {"anthropic": [{"display_name": "no id"}]})
    assert status == 400 and "id" in body["error"]
    await sbx.control("DELETE", "/_sandbox/models")
    assert len((await get(sbx, "/v1/models", ANTHROPIC_HEADERS))[1]["data"]) == 5
