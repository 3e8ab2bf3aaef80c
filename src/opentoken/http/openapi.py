"""The OpenAPI 3.1 document of the gateway's own routes, served at ``GET /openapi.json``.

Built from the typed structs the routes decode and encode (msgspec generates their JSON Schemas), so it
cannot drift from what the code accepts and answers: ``OPERATIONS`` lists each route once with its request
struct, its response struct and the key it needs. A new route adds one ``Operation``. The schemathesis suite
(``tests/fuzz``) checks the running gateway against this document.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

import msgspec

from opentoken.admin.schema import KeyCreate, KeyList, KeyOut, KeyUpdate, RequestList, UsageOut
from opentoken.ingress.openai.errors import ErrorOut
from opentoken.ingress.openai.models import ModelListOut, ModelOut
from opentoken.ingress.openai_chat.render import CompletionOut
from opentoken.ingress.openai_chat.wire import ChatCompletionRequest

Auth = Literal["key", "admin", "admin-if-set", "none"]
REF = "#/components/schemas/{name}"


class HealthOut(msgspec.Struct):
    status: Literal["ok"]


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    description: str
    many: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    method: Literal["get", "post", "patch"]
    path: str
    summary: str
    auth: Auth
    request: type | None = None
    response: type | None = None  # None: the media type below, as text
    status: int = 200
    media_type: str = "application/json"
    stream: bool = False  # also answers text/event-stream (``stream: true``)
    query: tuple[Query, ...] = ()


_KEY_ID = "/{key_id}"
OPERATIONS: tuple[Operation, ...] = (
    Operation("post", "/v1/chat/completions", "Create a chat completion", "key", ChatCompletionRequest,
              CompletionOut, stream=True),
    Operation("get", "/v1/models", "List the models this key may use", "key", response=ModelListOut),
    Operation("get", "/v1/models/{model_id}", "One model", "key", response=ModelOut),
    Operation("get", "/v1/key", "The calling key: limits, spend and remaining budget", "key", response=KeyOut),
    Operation("get", "/healthz", "Liveness", "none", response=HealthOut),
    Operation("get", "/metrics", "Prometheus metrics", "admin-if-set", media_type="text/plain"),
    Operation("get", "/openapi.json", "This document", "none", media_type="application/json"),
    Operation("post", "/admin/v1/keys", "Create a key (the secret is in this answer only)", "admin", KeyCreate,
              KeyOut, status=201),
    Operation("get", "/admin/v1/keys", "List keys", "admin", response=KeyList),
    Operation("get", "/admin/v1/keys" + _KEY_ID, "One key with its spend", "admin", response=KeyOut),
    Operation("patch", "/admin/v1/keys" + _KEY_ID, "Change a key (null clears a field)", "admin", KeyUpdate, KeyOut),
    Operation("post", "/admin/v1/keys" + _KEY_ID + "/revoke", "Revoke a key", "admin", response=KeyOut),
    Operation("post", "/admin/v1/keys" + _KEY_ID + "/rotate", "Replace a key's secret", "admin", response=KeyOut),
    Operation(
        "get", "/admin/v1/usage", "Usage and cost, grouped", "admin", response=UsageOut,
        query=(
            Query("key_id", "only this key"), Query("model", "only this model"),
            Query("provider", "only this provider"), Query("since", "ISO 8601 date or time"),
            Query("until", "ISO 8601 date or time"), Query("group_by", "key, model, provider, day", many=True),
        ),
    ),
    Operation(
        "get", "/admin/v1/requests", "The newest ledger records", "admin", response=RequestList,
        query=(Query("limit", "1 to 1000 (default 100)"), Query("key_id", "only this key")),
    ),
)  # fmt: skip


def openapi_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    types = [t for op in operations for t in (op.request, op.response) if t is not None]
    refs, components = msgspec.json.schema_components([*types, ErrorOut], ref_template=REF)
    schema_of = dict(zip([*types, ErrorOut], refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenToken", "version": version("opentoken")},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "key": {"type": "http", "scheme": "bearer", "description": "an API key (`opentoken keys create`)"},
                "admin": {"type": "http", "scheme": "bearer", "description": "OPENTOKEN_ADMIN_KEY"},
            },
        },
    }


def _operation(op: Operation, schema_of: dict[type, Any]) -> dict[str, Any]:
    ok: dict[str, Any]
    if op.response is not None:
        ok = {op.media_type: {"schema": schema_of[op.response]}}
    else:
        ok = {op.media_type: {"schema": {"type": "object"} if op.media_type.endswith("json") else {"type": "string"}}}
    if op.stream:
        ok["text/event-stream"] = {"schema": {"type": "string"}}
    error = {"description": "an OpenAI-shaped error", "content": {"application/json": {"schema": schema_of[ErrorOut]}}}
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
        "responses": {str(op.status): {"description": "OK", "content": ok}, "default": error},
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _path_params(op.path)
    ]
    params += [_query(q) for q in op.query]
    if params:
        out["parameters"] = params
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of[op.request]}}}
    if op.auth == "key":
        out["security"] = [{"key": []}]
    elif op.auth in ("admin", "admin-if-set"):
        out["security"] = [{"admin": []}] if op.auth == "admin" else [{"admin": []}, {}]
    return out


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _query(q: Query) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if q.many else {"type": "string"}
    return {"name": q.name, "in": "query", "required": False, "description": q.description, "schema": schema}
