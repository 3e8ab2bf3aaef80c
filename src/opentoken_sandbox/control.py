"""Control endpoints under ``/_sandbox/`` and ``/healthz``.

- ``GET /_sandbox/requests[?provider=anthropic|google]``: the request log (secrets redacted)
- ``DELETE /_sandbox/requests``: clear it
- ``POST /_sandbox/faults``: queue a fault for the next N matching requests:
  ``{"count": N, "status": 529, "after_events": 3, "drop_after": 2, "delay_ms": 100, "retry_after": 1,
  "provider": "anthropic" | "google" | null}``
- ``GET /_sandbox/faults``, ``DELETE /_sandbox/faults``: inspect / clear queued faults
- ``DELETE /_sandbox/cache``: forget prompt-cache prefixes
- ``GET /_sandbox/models``: the model lists served (``GET /v1/models``, ``GET /v1beta/models``)
- ``PUT /_sandbox/models``: replace them: ``{"anthropic": [model objects], "google": [model objects]}`` (each
  list optional, in the provider's own shape); ``DELETE /_sandbox/models``: back to the defaults
- ``GET /healthz``
"""

from __future__ import annotations

import orjson
from aiohttp import web

from opentoken_sandbox.anthropic.listing import DEFAULT_MODELS as ANTHROPIC_MODELS
from opentoken_sandbox.faults import PROVIDERS, FaultSyntaxError, fault_from_mapping
from opentoken_sandbox.gemini.listing import DEFAULT_MODELS as GEMINI_MODELS
from opentoken_sandbox.state import STATE, SandboxState

_LIST_KEYS = {"anthropic": "id", "google": "name"}  # the field every listed model must have


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def list_requests(request: web.Request) -> web.Response:
    provider = request.query.get("provider")
    entries = request.app[STATE].log.entries(provider)
    return _json({"requests": [e.as_dict() for e in entries]})


async def clear_requests(request: web.Request) -> web.Response:
    return _json({"cleared": request.app[STATE].log.clear()})


async def queue_fault(request: web.Request) -> web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _json({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict):
        return _json({"error": "body must be a JSON object"}, 400)
    count = body.get("count", 1)
    provider = body.get("provider")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return _json({"error": "count must be a positive integer"}, 400)
    if provider is not None and provider not in PROVIDERS:
        return _json({"error": f"provider must be one of {list(PROVIDERS)} or null"}, 400)
    unknown = set(body) - {"count", "provider", "status", "after_events", "drop_after", "delay_ms", "retry_after"}
    if unknown:
        return _json({"error": f"unknown fault fields: {sorted(unknown)}"}, 400)
    try:
        spec = fault_from_mapping(body)
    except FaultSyntaxError as e:
        return _json({"error": str(e)}, 400)
    if spec == type(spec)():
        return _json({"error": "a fault needs status, after_events, drop_after or delay_ms"}, 400)
    faults = request.app[STATE].faults
    faults.push(spec, count, provider)
    return _json({"queued": faults.pending()})


async def list_faults(request: web.Request) -> web.Response:
    return _json({"queued": request.app[STATE].faults.pending()})


async def clear_faults(request: web.Request) -> web.Response:
    return _json({"cleared": request.app[STATE].faults.clear()})


async def clear_cache(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.anthropic_cache.clear()
    state.gemini_cache.clear()
    return _json({"cleared": True})


def reset_model_lists(state: SandboxState) -> None:
    state.model_lists = {"anthropic": [dict(m) for m in ANTHROPIC_MODELS], "google": [dict(m) for m in GEMINI_MODELS]}


async def get_models(request: web.Request) -> web.Response:
    return _json(request.app[STATE].model_lists)


async def put_models(request: web.Request) -> web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _json({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict) or set(body) - set(_LIST_KEYS):
        return _json({"error": f"body must be an object with the keys {sorted(_LIST_KEYS)}"}, 400)
    for provider, models in body.items():
        key = _LIST_KEYS[provider]
        if not isinstance(models, list) or not all(isinstance(m, dict) and isinstance(m.get(key), str) for m in models):
            return _json({"error": f"{provider}: a list of objects, each with a string {key!r}"}, 400)
    request.app[STATE].model_lists.update(body)
    return _json(request.app[STATE].model_lists)


async def reset_models(request: web.Request) -> web.Response:
    reset_model_lists(request.app[STATE])
    return _json(request.app[STATE].model_lists)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health)
    app.router.add_get("/_sandbox/requests", list_requests)
    app.router.add_delete("/_sandbox/requests", clear_requests)
    app.router.add_post("/_sandbox/faults", queue_fault)
    app.router.add_get("/_sandbox/faults", list_faults)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_delete("/_sandbox/cache", clear_cache)
    app.router.add_get("/_sandbox/models", get_models)
    app.router.add_put("/_sandbox/models", put_models)
    app.router.add_delete("/_sandbox/models", reset_models)
