"""What the Responses API end-to-end tests share: loosely typed calls through the `openai` SDK and its errors."""

from __future__ import annotations

from typing import Any

import openai

REASONING = {"effort": "high", "summary": "auto"}  # adaptive thinking (Claude 4.6) may skip a low-effort turn


def create(client: openai.OpenAI, **kw: Any) -> Any:
    """``responses.create`` with loosely typed arguments (tests send shapes the SDK's TypedDicts do not name)."""
    return client.responses.create(**kw)


def raw_create(client: openai.OpenAI, **kw: Any) -> Any:
    return client.responses.with_raw_response.create(**kw)


def error_body(err: openai.APIStatusError) -> dict[str, Any]:
    body = err.body
    assert isinstance(body, dict)
    return body
