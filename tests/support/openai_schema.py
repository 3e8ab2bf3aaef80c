"""Validate what the gateway emits against the official OpenAI schemas (tests/fixtures/openai).

The document still uses OpenAPI 3.0 ``nullable: true``; every such node is rewritten to
``anyOf: [node, {type: null}]`` before validating with a Draft 2020-12 validator.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

from support.fixtures import OPENAI

SPEC = OPENAI / "chat-completions.openapi.json"
RESPONSES_SPEC = OPENAI / "responses-embeddings.openapi.json"


def _denull(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _denull(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_denull(v) for v in node]
    return node


@functools.cache
def _components(spec: str = str(SPEC)) -> dict[str, Any]:
    doc = json.loads(Path(spec).read_text())
    return _denull(doc["components"])


@functools.cache
def validator(component: str, spec: str = str(SPEC)) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": _components(spec)}
    return jsonschema.Draft202012Validator(schema)


def validate(component: str, instance: Any, spec: str = str(SPEC)) -> None:
    """Raise AssertionError when ``instance`` is not a valid ``component`` of ``spec``."""
    errors = sorted(validator(component, spec).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        raise AssertionError(f"not a valid {component}: {errors[0].message} at {list(errors[0].path)}\n{instance}")


def sse_payloads(body: bytes) -> list[str]:
    """The ``data:`` values of an SSE body (OpenAI framing: data lines, blank-line separated)."""
    out = []
    for block in body.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln]
        if not lines:
            continue
        assert all(ln.startswith("data: ") for ln in lines), f"unexpected SSE lines: {lines}"
        out.append("\n".join(ln[6:] for ln in lines))
    return out


def validate_exchange(path: str, status: int, content_type: str, body: bytes) -> int:
    """Validate one recorded gateway response by its route; returns how many objects were checked."""
    if status >= 400:
        validate("ErrorResponse", json.loads(body))
        return 1
    if path.endswith("/chat/completions"):
        if content_type.startswith("text/event-stream"):
            payloads = sse_payloads(body)
            checked = 0
            for data in payloads:
                if data == "[DONE]":
                    continue
                obj = json.loads(data)
                validate("ErrorResponse" if "error" in obj else "CreateChatCompletionStreamResponse", obj)
                checked += 1
            return checked
        validate("CreateChatCompletionResponse", json.loads(body))
        return 1
    if "/v1/responses" in path or path.endswith("/v1/embeddings"):
        from support.responses_schema import validate_responses_exchange

        return validate_responses_exchange(path, content_type, body)
    if path.endswith("/v1/models"):
        validate("ListModelsResponse", json.loads(body))
        return 1
    if "/v1/models/" in path:
        validate("Model", json.loads(body))
        return 1
    return 0
