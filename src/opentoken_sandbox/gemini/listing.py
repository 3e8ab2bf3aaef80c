"""``GET /v1beta/models`` (``models.list``): Gemini's model list, paged by ``pageSize`` / ``pageToken``.

The reply is ``{"models": [{"name": "models/...", "baseModelId", "version", "displayName", "description",
"inputTokenLimit", "outputTokenLimit", "supportedGenerationMethods", "thinking", ...}], "nextPageToken"}``
(no ``nextPageToken`` on the last page). The list served can be replaced through ``PUT /_sandbox/models``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from aiohttp import web

from opentoken_sandbox.gemini.errors import CONTENT_TYPE, GeminiError, api_key_invalid, invalid
from opentoken_sandbox.state import STATE

PROVIDER = "google"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
INVALID_KEY = "invalid-key"
_CHAT = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]


def _model(model_id: str, name: str, version: str, output: int, thinking: bool) -> dict[str, Any]:
    return {
        "name": f"models/{model_id}",
        "baseModelId": model_id,
        "version": version,
        "displayName": name,
        "description": f"{name} (simulated by the OpenToken sandbox)",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": output,
        "supportedGenerationMethods": _CHAT,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": thinking,
    }


DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    _model("gemini-2.5-flash", "Gemini 2.5 Flash", "001", 65536, True),
    _model("gemini-2.5-pro", "Gemini 2.5 Pro", "2.5", 65536, True),
    _model("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", "001", 65536, True),
    _model("gemini-3-pro-preview", "Gemini 3 Pro Preview", "3-pro-preview-11-2025", 65536, True),
    _model("gemini-3-flash-preview", "Gemini 3 Flash Preview", "3-flash-preview-12-2025", 65536, True),
    {
        "name": "models/gemini-embedding-001",
        "version": "001",
        "displayName": "Gemini Embedding 001",
        "description": "Obtain a distributed representation of a text.",
        "inputTokenLimit": 2048,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"],
    },
)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise invalid("Invalid page token.") from e
    kind, _, value = text.partition(":")
    if kind != "offset" or not value.isdigit():
        raise invalid("Invalid page token.")
    return int(value)


def page(models: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    raw = query.get("pageSize")
    if raw is not None and not raw.lstrip("-").isdigit():
        raise invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"")
    size = DEFAULT_PAGE_SIZE if raw is None or int(raw) <= 0 else min(int(raw), MAX_PAGE_SIZE)
    start = _offset(query["pageToken"]) if query.get("pageToken") else 0
    body: dict[str, Any] = {"models": models[start : start + size]}
    if start + size < len(models):
        body["nextPageToken"] = _token(start + size)
    return body


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    entry = state.log.record(request, PROVIDER, None, None)
    try:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            raise GeminiError(403, "Method doesn't allow unregistered callers (callers without established identity).")
        if key == INVALID_KEY:
            raise api_key_invalid()
        body = page(state.model_lists[PROVIDER], dict(request.query))
        response = web.Response(body=orjson.dumps(body), headers={"content-type": CONTENT_TYPE})
    except GeminiError as e:
        response = e.response()
    entry.status = response.status
    return response
