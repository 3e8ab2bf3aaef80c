"""Conversation rules and content parts: hoisting, merging, placement, empty content, images, files, audio."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    Message,
    Part,
    ReplayState,
    Role,
    TextPart,
    ToolCall,
)
from opentoken.core.errors import GatewayError, InvalidRequest, UnsupportedParameter
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.anthropic.messages import LEADING_USER_TEXT
from support.catalog import entry

SONNET = entry(load_catalog(), "anthropic/claude-sonnet-4-5")


def msg(role: Role, *parts: str | Part, **kwargs: Any) -> Message:
    return Message(role, tuple(TextPart(p) if isinstance(p, str) else p for p in parts), **kwargs)


def build(*messages: Message, model: Any = SONNET) -> dict[str, Any]:
    upstream = PROVIDER.build_request(ChatRequest(model=SONNET.id, messages=messages), model)
    result: dict[str, Any] = json.loads(upstream.body)
    return result


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def error(exc: type[InvalidRequest], *messages: Message, model: Any = SONNET) -> InvalidRequest:
    with pytest.raises(exc) as info:
        build(*messages, model=model)
    return info.value


def test_system_messages_are_hoisted_wherever_they_appear() -> None:
    sent = build(msg("system", "You are terse."), msg("user", "hi"), msg("system", "Use French."), msg("user", "bye"))
    assert sent["system"] == "You are terse.\nUse French."
    assert sent["messages"] == [{"role": "user", "content": [text("hi"), text("bye")]}]


def test_system_message_with_image_is_rejected() -> None:
    image = ImagePart(url="https://example.com/a.png")
    assert error(InvalidRequest, msg("system", "x", image), msg("user", "hi")).loc == ("messages", 0, "parts", 1)


def test_consecutive_same_role_turns_are_merged() -> None:
    sent = build(msg("user", "a"), msg("user", "b"), msg("assistant", "c"), msg("assistant", "d"), msg("user", "e"))
    assert sent["messages"] == [
        {"role": "user", "content": [text("a"), text("b")]},
        {"role": "assistant", "content": [text("c"), text("d")]},
        {"role": "user", "content": [text("e")]},
    ]


def test_tool_results_come_first_in_the_next_user_turn_in_order() -> None:
    calls = (ToolCall("toolu_a", "f", '{"x": 1}'), ToolCall("toolu_b", "g", ""))
    sent = build(
        msg("user", "go"),
        msg("assistant", "calling", tool_calls=calls),
        msg("tool", "A", tool_call_id="toolu_a"),
        msg("tool", "B", tool_call_id="toolu_b"),
        msg("user", "and now?"),
    )
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [
            text("calling"),
            {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {"x": 1}},
            {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {}},
        ],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "A"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "B"},
            text("and now?"),
        ],
    }


def test_tool_result_placed_before_earlier_user_text_of_the_same_turn() -> None:
    calls = (ToolCall("toolu_a", "f", "{}"),)
    sent = build(
        msg("user", "go"),
        msg("assistant", tool_calls=calls),
        msg("user", "note"),
        msg("tool", "A", tool_call_id="toolu_a"),
    )
    assert [b["type"] for b in sent["messages"][2]["content"]] == ["tool_result", "text"]


def test_empty_content_is_dropped() -> None:
    sent = build(msg("user", "", "  ", "hi"), msg("assistant", ""), msg("user", "\n"), msg("user", "there"))
    assert sent["messages"] == [{"role": "user", "content": [text("hi"), text("there")]}]


def test_empty_tool_result_keeps_its_block() -> None:
    calls = (ToolCall("toolu_a", "f", "{}"),)
    sent = build(msg("user", "go"), msg("assistant", tool_calls=calls), msg("tool", "", tool_call_id="toolu_a"))
    assert sent["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_a"}]


def test_history_starting_with_assistant_gets_a_user_turn_first() -> None:
    sent = build(msg("system", "s"), msg("assistant", "Hello, how can I help?"), msg("user", "weather?"))
    assert sent["messages"][0] == {"role": "user", "content": [text(LEADING_USER_TEXT)]}
    assert sent["messages"][1]["role"] == "assistant"
    assert LEADING_USER_TEXT.strip()


def test_final_assistant_prefill_loses_trailing_whitespace() -> None:
    sent = build(msg("user", "count"), msg("assistant", "1, 2, "))
    assert sent["messages"][-1] == {"role": "assistant", "content": [text("1, 2,")]}


def test_conversation_without_content_is_rejected() -> None:
    assert error(InvalidRequest, msg("system", "only a system prompt")).loc == ("messages",)
    assert error(InvalidRequest, msg("user", "  ")).loc == ("messages",)


def test_tool_message_without_id() -> None:
    assert error(InvalidRequest, msg("user", "go"), msg("tool", "x")).loc == ("messages", 1, "tool_call_id")


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"'])
def test_bad_tool_call_arguments(arguments: str) -> None:
    calls = (ToolCall("toolu_a", "f", "{}"), ToolCall("toolu_b", "f", arguments))
    err = error(InvalidRequest, msg("user", "go"), msg("assistant", tool_calls=calls))
    assert err.loc == ("messages", 1, "tool_calls", 1, "arguments")


def test_non_text_in_assistant_message() -> None:
    image = ImagePart(url="https://example.com/a.png")
    assert error(InvalidRequest, msg("user", "go"), msg("assistant", image)).loc == ("messages", 1, "parts", 0)


# ---- images ----


@pytest.mark.parametrize("media_type", ["image/jpeg", "image/png", "image/gif", "image/webp"])
def test_inline_images(media_type: str) -> None:
    sent = build(msg("user", ImagePart(data="AAAA", media_type=media_type), "what?"))
    assert sent["messages"][0]["content"][0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": "AAAA"},
    }


def test_unsupported_inline_image_type_names_the_part() -> None:
    err = error(InvalidRequest, msg("system", "s"), msg("user", ImagePart(data="AAAA", media_type="image/bmp")))
    assert err.loc == ("messages", 1, "parts", 0)
    assert "image/bmp" in err.message


def test_url_images_are_fetched_by_anthropic() -> None:
    sent = build(msg("user", "look", ImagePart(url="https://example.com/cat.jpg", detail="high")))
    assert sent["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
    }


def test_non_http_image_url_is_rejected() -> None:
    err = error(InvalidRequest, msg("user", "look", ImagePart(url="ftp://example.com/cat.jpg")))
    assert err.loc == ("messages", 0, "parts", 1)


def test_images_on_model_without_vision() -> None:
    blind = replace(SONNET, capabilities=replace(SONNET.capabilities, vision=False))
    err = error(UnsupportedParameter, msg("user", ImagePart(url="https://example.com/a.png")), model=blind)
    assert err.loc == ("messages", 0, "parts", 0)


def test_images_inside_tool_results_keep_their_blocks() -> None:
    calls = (ToolCall("toolu_a", "screenshot", "{}"),)
    result = msg("tool", "here", ImagePart(data="AAAA", media_type="image/png"), tool_call_id="toolu_a")
    sent = build(msg("user", "go"), msg("assistant", tool_calls=calls), result)
    assert sent["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_a",
            "content": [
                text("here"),
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            ],
        }
    ]


# ---- files and audio ----


def test_pdf_becomes_a_base64_document() -> None:
    sent = build(msg("user", FilePart(data="JVBERi0=", media_type="application/pdf", filename="a.pdf"), "sum up"))
    assert sent["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        "title": "a.pdf",
    }


def test_plain_text_file_becomes_a_text_document() -> None:
    data = base64.b64encode("héllo\nworld".encode()).decode()
    sent = build(msg("user", FilePart(data=data, media_type="text/plain")))
    assert sent["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "text", "data": "héllo\nworld", "media_type": "text/plain"},
    }


def test_other_file_types_are_rejected() -> None:
    err = error(InvalidRequest, msg("user", "x", FilePart(data="UEsDBA==", media_type="application/zip")))
    assert err.status == 400
    assert err.loc == ("messages", 0, "parts", 1)


def test_undecodable_text_file_is_rejected() -> None:
    bad = base64.b64encode(b"\xff\xfe\x00").decode()
    assert error(InvalidRequest, msg("user", FilePart(data=bad, media_type="text/plain"))).loc == (
        "messages",
        0,
        "parts",
        0,
    )


def test_pdf_on_model_without_pdf_support() -> None:
    no_pdf = replace(SONNET, capabilities=replace(SONNET.capabilities, pdf=False))
    err = error(
        UnsupportedParameter, msg("user", FilePart(data="JVBERi0=", media_type="application/pdf")), model=no_pdf
    )
    assert err.loc == ("messages", 0, "parts", 0)


def test_audio_is_never_dropped_silently() -> None:
    err = error(UnsupportedParameter, msg("user", "listen", AudioPart(data="UklGRg==", format="wav")))
    assert err.status == 400
    assert err.loc == ("messages", 0, "parts", 1)


# ---- replay state ----


def test_replay_blocks_come_first_in_the_assistant_turn() -> None:
    blocks = [
        {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "xyz"},
    ]
    replay = ReplayState(provider="anthropic", data=json.dumps(blocks))
    calls = (ToolCall("toolu_a", "f", '{"q": 1}'),)
    sent = build(
        msg("user", "go"),
        msg("assistant", "let me look", tool_calls=calls, replay=replay),
        msg("tool", "done", tool_call_id="toolu_a"),
    )
    assert sent["messages"][1]["content"] == [
        *blocks,
        text("let me look"),
        {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {"q": 1}},
    ]


def test_unreadable_replay_state_is_an_internal_error() -> None:
    replay = ReplayState(provider="anthropic", data="not json")
    with pytest.raises(GatewayError) as info:
        build(msg("user", "go"), msg("assistant", "x", replay=replay), msg("user", "more"))
    assert not isinstance(info.value, InvalidRequest)
