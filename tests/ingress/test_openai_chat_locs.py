"""Neutral error locations rendered in OpenAI Chat Completions syntax, with the client's own indices."""

from __future__ import annotations

import orjson
import pytest

from opentoken.core.errors import InvalidRequest, Loc
from opentoken.ingress.openai_chat.codec import OpenAIChatCodec
from opentoken.ingress.openai_chat.locs import render_loc
from opentoken.ingress.openai_chat.parse import ParsedChat, parse_body

PNG = "data:image/png;base64,iVBORw0KGgo="


def parsed(**body: object) -> ParsedChat:
    return parse_body(orjson.dumps({"model": "m", **body}))


CHAT = parsed(
    messages=[
        {"role": "system", "content": "s"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": ""},  # dropped: canonical part 0 is content[1]
                {"type": "image_url", "image_url": {"url": PNG}},
                {"type": "text", "text": "what is it?"},
                {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "a.pdf"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "x"},
    ],
    max_completion_tokens=5,
)


@pytest.mark.parametrize(
    ("loc", "param"),
    [
        (("messages",), "messages"),
        (("messages", 1, "parts", 0), "messages[1].content[1].image_url"),
        (("messages", 1, "parts", 0, "url"), "messages[1].content[1].image_url.url"),
        (("messages", 1, "parts", 1), "messages[1].content[2]"),
        (("messages", 1, "parts", 2), "messages[1].content[3].file"),
        (("messages", 2, "tool_calls", 1), "messages[2].tool_calls[1]"),
        (("messages", 2, "tool_calls", 1, "arguments"), "messages[2].tool_calls[1].function.arguments"),
        (("messages", 2, "tool_calls", 0, "id"), "messages[2].tool_calls[0].id"),
        (("messages", 3, "tool_call_id"), "messages[3].tool_call_id"),
        (("tools", 2, "name"), "tools[2].function.name"),
        (("tools", 0, "parameters"), "tools[0].function.parameters"),
        (("candidate_count",), "n"),
        (("fallback_models", 1), "models[1]"),
        (("max_tokens",), "max_completion_tokens"),
        (("reasoning_effort",), "reasoning_effort"),
    ],
)
def test_render(loc: Loc, param: str) -> None:
    assert render_loc(loc, CHAT) == param


def test_max_tokens_as_the_client_spelled_it() -> None:
    assert (
        render_loc(("max_tokens",), parsed(messages=[{"role": "user", "content": "x"}], max_tokens=3)) == "max_tokens"
    )


def test_codec_error_uses_param_when_the_codec_set_it() -> None:
    codec = OpenAIChatCodec()
    own = codec.error(InvalidRequest("bad", param="messages[0].role"), None)
    assert orjson.loads(own.body)["error"]["param"] == "messages[0].role"
    neutral = codec.error(InvalidRequest("bad", loc=("messages", 1, "parts", 0)), CHAT)
    assert orjson.loads(neutral.body)["error"]["param"] == "messages[1].content[1].image_url"
    assert neutral.status == 400 and neutral.headers["x-should-retry"] == "false"
