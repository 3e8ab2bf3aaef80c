"""``GET /v1/models``: Anthropic's model list, newest first, paged by ``limit`` / ``after_id`` / ``before_id``.

The reply is ``{"data": [{"type": "model", "id", "display_name", "created_at"}], "has_more", "first_id",
"last_id"}``. The list served can be replaced through ``PUT /_sandbox/models`` (see ``control``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from opentoken_sandbox.anthropic import validate
from opentoken_sandbox.anthropic.errors import AnthropicError, invalid, request_id
from opentoken_sandbox.state import STATE

PROVIDER = "anthropic"
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def _model(model_id: str, name: str, created: str) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "display_name": name, "created_at": created}


# What the Claude API listed after Claude Sonnet 4.5 was retired (2026-11-30), newest first.
DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    _model("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    _model("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    _model("claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-24T00:00:00Z"),
    _model("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    _model("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid(f"limit: Input should be less than or equal to {MAX_LIMIT}" if raw.isdigit() else
                      "limit: Input should be a valid integer, unable to parse string as an integer")  # fmt: skip
    return int(raw)


def _index(models: list[dict[str, Any]], model_id: str, param: str) -> int:
    for i, model in enumerate(models):
        if model["id"] == model_id:
            return i
    raise invalid(f"{param}: no model with id {model_id!r}")


def page(models: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    limit = _limit(query.get("limit"))
    after, before = query.get("after_id"), query.get("before_id")
    if after and before:
        raise invalid("Only one of before_id and after_id may be given.")
    if before:
        end = _index(models, before, "before_id")
        start = max(0, end - limit)
        chosen, more = models[start:end], start > 0
    else:
        start = _index(models, after, "after_id") + 1 if after else 0
        chosen, more = models[start : start + limit], start + limit < len(models)
    return {
        "data": chosen,
        "has_more": more,
        "first_id": chosen[0]["id"] if chosen else None,
        "last_id": chosen[-1]["id"] if chosen else None,
    }


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req_id = request_id()
    entry = state.log.record(request, PROVIDER, None, None)
    try:
        validate.check_headers(request.headers)
        body = page(state.model_lists[PROVIDER], dict(request.query))
        response = web.Response(
            body=orjson.dumps(body), content_type="application/json", headers={"request-id": req_id}
        )
    except AnthropicError as e:
        response = e.response(req_id)
    entry.status = response.status
    return response
