"""Every public endpoint the fuzz suite drives, one ``Endpoint`` each. A new endpoint is one more entry.

An entry says how to draw a request (method, path, body, which credential) and how many cases it gets of
the suite's fixed budget. Request bodies come from schemas: the official OpenAI document for the OpenAI
routes (its valid shapes, then mutations), the gateway's own ``/openapi.json`` components for the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from fuzz.shapes import TEXT, bodies, valid
from opentoken.catalog.registry import load_catalog
from opentoken.http.openapi import openapi_document
from support.fixtures import CLIENTS
from support.openai_schema import RESPONSES_SPEC
from support.openai_schema import _components as openai_components

Credential = Literal["key", "admin", "none", "fuzzed"]
MODELS = [m.id for m in load_catalog() if m.kind == "chat"]
EMBEDDING_MODELS = [m.id for m in load_catalog() if m.kind == "embedding"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None
    credential: Credential


@dataclass(frozen=True)
class Endpoint:
    name: str
    budget: int  # cases of the suite's fixed budget
    requests: SearchStrategy[Request]
    names_param: bool = True  # every 400 about the request names the offending param
    errors: Literal["openai", "anthropic"] = "openai"  # the error shape of the route's wire API


def _own_components() -> dict[str, Any]:
    components: dict[str, Any] = openapi_document()["components"]["schemas"]
    return components


def _chat_shape() -> SearchStrategy[Any]:
    """An OpenAI ``CreateChatCompletionRequest`` (official schema), mostly for a model we serve."""
    components = openai_components()["schemas"]
    shape = valid({"$ref": "#/components/schemas/CreateChatCompletionRequest"}, components, depth=-1)
    model = st.sampled_from(MODELS) | TEXT
    small = st.integers(1, 64)

    def settle(value: Any, model_id: str, max_tokens: int, plain: str | None) -> Any:
        if isinstance(value, dict):
            value = {**value, "model": model_id}
            value.pop("max_completion_tokens", None)
            value["max_tokens"] = max_tokens  # the sandbox's replies stay short either way
            if plain is not None:  # half the time, a conversation that gets past the messages to the rest
                value["messages"] = [{"role": "user", "content": plain}]
        return value

    return st.builds(settle, shape, model, small, st.none() | TEXT)


def _openai_shape(component: str, models: list[str]) -> SearchStrategy[Any]:
    """A request of the Responses / embeddings document (official schema), mostly for a model we serve."""
    components = openai_components(str(RESPONSES_SPEC))["schemas"]
    shape = valid({"$ref": f"#/components/schemas/{component}"}, components, depth=-1)

    def settle(value: Any, model_id: str) -> Any:
        if isinstance(value, dict):
            value = {**value, "model": model_id}
            if "max_output_tokens" in value:
                value["max_output_tokens"] = 64
        return value

    return st.builds(settle, shape, st.sampled_from(models) | TEXT)


def _messages_shape() -> SearchStrategy[Any]:
    """An Anthropic Messages request: small hand-made ones and the recorded Claude Code request (no official
    schema is in the repository), for a model we serve; ``bodies`` then mutates them."""
    recorded = json.loads((CLIENTS / "claude-code-2.1.332.request.json").read_text())["body"]
    plain = st.fixed_dictionaries(
        {
            "model": st.sampled_from(MODELS) | TEXT,
            "max_tokens": st.integers(1, 64),
            "messages": st.lists(
                st.fixed_dictionaries(
                    {
                        "role": st.sampled_from(["user", "assistant"]),
                        "content": TEXT | st.just([{"type": "text", "text": "hi"}]),
                    }
                ),
                min_size=1,
                max_size=3,
            ),
        },
        optional={
            "system": TEXT,
            "stream": st.booleans(),
            "temperature": st.floats(0, 1),
            "stop_sequences": st.lists(TEXT, max_size=2),
            "thinking": st.sampled_from([{"type": "enabled", "budget_tokens": 1024}, {"type": "adaptive"}]),
            "tools": st.just([{"name": "f", "input_schema": {"type": "object"}}]),
        },
    )
    claude_code = st.sampled_from(MODELS).map(lambda m: {**recorded, "model": m, "max_tokens": 64})
    return plain | claude_code


def _admin_shape(component: str) -> SearchStrategy[Any]:
    return valid({"$ref": f"#/components/schemas/{component}"}, _own_components())


def _ids() -> SearchStrategy[str]:
    return st.sampled_from(["key_missing", "", "..", "%2e%2e", "key_" + "a" * 300]) | TEXT


def _path_text() -> SearchStrategy[str]:
    return TEXT.map(lambda s: s.replace("?", "%3F").replace("#", "%23"))


def _req(method: str, path: str, body: bytes | None = None, credential: Credential = "key") -> Request:
    return Request(method, path, body, credential)


def _credentials() -> SearchStrategy[Credential]:
    return st.sampled_from(["key", "key", "key", "fuzzed", "none"])


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST /v1/chat/completions",
        1000,
        st.builds(lambda b, c: _req("POST", "/v1/chat/completions", b, c), bodies(_chat_shape()), _credentials()),
    ),
    Endpoint(
        "POST /v1/responses",
        250,
        st.builds(
            lambda b, c: _req("POST", "/v1/responses", b, c),
            bodies(_openai_shape("CreateResponse", MODELS)),
            _credentials(),
        ),
    ),
    Endpoint(
        "POST /v1/embeddings",
        120,
        st.builds(
            lambda b, c: _req("POST", "/v1/embeddings", b, c),
            bodies(_openai_shape("CreateEmbeddingRequest", EMBEDDING_MODELS)),
            _credentials(),
        ),
    ),
    Endpoint(
        "POST /v1/messages",
        250,
        st.builds(lambda b, c: _req("POST", "/v1/messages", b, c), bodies(_messages_shape()), _credentials()),
        names_param=False,  # Anthropic's error shape has no param: its message names the field
        errors="anthropic",
    ),
    Endpoint(
        "POST /v1/messages/count_tokens",
        80,
        st.builds(
            lambda b, c: _req("POST", "/v1/messages/count_tokens", b, c), bodies(_messages_shape()), _credentials()
        ),
        names_param=False,
        errors="anthropic",
    ),
    Endpoint("GET /v1/models", 60, st.builds(lambda c: _req("GET", "/v1/models", None, c), _credentials())),
    Endpoint(
        "GET /v1/models/{id}",
        150,
        st.builds(
            lambda m, c: _req("GET", "/v1/models/" + m, None, c),
            st.sampled_from(MODELS) | _path_text(),
            _credentials(),
        ),
    ),
    Endpoint("GET /v1/key", 40, st.builds(lambda c: _req("GET", "/v1/key", None, c), _credentials())),
    Endpoint("GET /healthz", 20, st.just(_req("GET", "/healthz", None, "none"))),
    Endpoint(
        "GET /metrics", 30, st.builds(lambda c: _req("GET", "/metrics", None, c), st.sampled_from(["admin", "fuzzed"]))
    ),
    Endpoint("GET /openapi.json", 10, st.just(_req("GET", "/openapi.json", None, "none"))),
    Endpoint(
        "POST /admin/v1/keys",
        250,
        st.builds(lambda b: _req("POST", "/admin/v1/keys", b, "admin"), bodies(_admin_shape("KeyCreate"))),
    ),
    Endpoint(
        "PATCH /admin/v1/keys/{id}",
        120,
        st.builds(
            lambda i, b: _req("PATCH", "/admin/v1/keys/" + i, b, "admin"),
            st.just("{own}") | _ids(),
            bodies(_admin_shape("KeyUpdate")),
        ),
    ),
    Endpoint(
        "GET|POST /admin/v1/keys/{id}[/revoke|/rotate]",
        80,
        st.builds(
            lambda m, i, tail: _req(m, "/admin/v1/keys/" + i + tail, None, "admin"),
            st.sampled_from(["GET", "POST"]),
            _ids(),
            st.sampled_from(["", "/revoke", "/rotate"]),
        ),
    ),
    Endpoint(
        "GET /admin/v1/usage",
        100,
        st.builds(
            lambda q: _req("GET", "/admin/v1/usage?" + q, None, "admin"),
            st.lists(
                st.tuples(st.sampled_from(["key_id", "model", "since", "until", "group_by", "provider"]), TEXT),
                max_size=3,
            ).map(lambda pairs: "&".join(f"{k}={json.dumps(v)[1:-1]}" for k, v in pairs)),
        ),
    ),
    Endpoint(
        "GET /admin/v1/requests",
        100,
        st.builds(
            lambda lim, c: _req("GET", f"/admin/v1/requests?limit={lim}", None, c),
            st.integers(-5, 5000).map(str) | TEXT,
            st.sampled_from(["admin", "key", "fuzzed", "none"]),
        ),
    ),
]
