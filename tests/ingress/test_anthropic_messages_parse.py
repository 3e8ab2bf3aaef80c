"""Malformed Anthropic Messages bodies are 400s naming the field, never a 500 (found by the fuzz suite)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from opentoken.core.errors import InvalidRequest
from opentoken.ingress.anthropic_messages.codec import AnthropicMessagesCodec


@pytest.mark.parametrize("block", [{"type": {"$defs": {}}, "text": "x"}, {"type": None}, {"text": "x"}, {"type": 5}])
def test_a_content_block_without_a_string_type_is_a_400(block: dict[str, Any]) -> None:
    body = orjson.dumps(
        {"model": "google/gemini-3-flash", "max_tokens": 5, "messages": [{"role": "user", "content": [block]}]}
    )
    with pytest.raises(InvalidRequest) as info:
        AnthropicMessagesCodec().parse(body, {})
    assert info.value.status == 400 and info.value.param == "messages.0.content.0.type"
