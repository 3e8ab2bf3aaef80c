"""Content of the simulated Messages API: documents and citations, rich tool results, the web search server
tool with pause_turn, stop sequences and refusals."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from support.anthropic_grammar import check_anthropic_grammar

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Count 2 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj << /Type /Page /Parent 2 0 R >> endobj\n"
    b"5 0 obj << /Length 60 >> stream\nBT /F1 12 Tf (The grass is green. The sky is blue.) Tj ET\nendstream endobj\n%%EOF"
)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
WEATHER = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def ask(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def pdf_document(**extra: Any) -> dict[str, Any]:
    source = {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(PDF).decode()}
    return {"type": "document", "source": source, **extra}


async def test_pdf_document_with_citations(sbx) -> None:
    body = ask([pdf_document(title="Facts", citations={"enabled": True}), {"type": "text", "text": "Grass colour?"}])
    plain = (await sbx.anthropic(body)).json()
    cited = plain["content"][0]
    (found,) = cited["citations"]
    assert found == {
        "type": "page_location",
        "cited_text": "The grass is green.",
        "document_index": 0,
        "document_title": "Facts",
        "start_page_number": 1,
        "end_page_number": 2,
    }
    assert "The grass is green." in cited["text"]
    assert plain["usage"]["input_tokens"] > 2 * 1500  # two pages
    events = (await sbx.anthropic({**body, "stream": True})).anthropic_events()
    check_anthropic_grammar(events)
    assert any(n == "content_block_delta" and d["delta"]["type"] == "citations_delta" for n, d in events)
    folded = (await sbx.anthropic({**body, "stream": True})).anthropic_message()
    assert folded["content"][0]["citations"] == [found]
    without = (await sbx.anthropic(ask([pdf_document(), {"type": "text", "text": "Grass colour?"}]))).json()
    assert all("citations" not in b for b in without["content"])


async def test_text_document_citations_use_character_offsets(sbx) -> None:
    source = {"type": "text", "media_type": "text/plain", "data": "Oslo is cold. Rome is warm."}
    body = ask([{"type": "document", "source": source, "citations": {"enabled": True}}, {"type": "text", "text": "?"}])
    (found,) = (await sbx.anthropic(body)).json()["content"][0]["citations"]
    assert found["type"] == "char_location" and found["cited_text"] == "Oslo is cold."
    assert (found["start_char_index"], found["end_char_index"]) == (0, len("Oslo is cold."))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (base64.b64encode(b"<html>not a pdf</html>").decode(), "The PDF specified was not valid."),
        ("", "PDF cannot be empty"),
        (base64.b64encode(PDF.replace(b"/Count 2", b"/Count 2 /Encrypt 9 0 R")).decode(), "password protected"),
    ],
)
async def test_invalid_pdfs_are_refused(sbx, data, message) -> None:
    document = pdf_document()
    document["source"]["data"] = data
    reply = await sbx.anthropic(ask([document, {"type": "text", "text": "Read it"}]))
    assert reply.status == 400
    assert reply.json()["error"]["message"].startswith("messages.0.content.0.pdf.source.base64.data: ")
    assert message in reply.json()["error"]["message"]


async def test_tool_results_with_errors_and_content_arrays(sbx) -> None:
    history = [
        {"role": "user", "content": "Use get_weather for Oslo and Rome"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "station offline", "is_error": True},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_b",
                    "content": [
                        {"type": "text", "text": "Rome: 21C"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    ],
                },
            ],
        },
    ]
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": history, "tools": [WEATHER]}
    reply = await sbx.anthropic(body)
    assert reply.status == 200, reply.text
    text = reply.json()["content"][0]["text"]
    assert "failed with: station offline" in text and "Rome: 21C" in text
    bad = copy.deepcopy(body)
    bad["messages"][2]["content"][0]["is_error"] = "yes"
    assert "is_error: Input should be a valid boolean" in (await sbx.anthropic(bad)).json()["error"]["message"]


async def test_web_search_produces_server_blocks_and_usage(sbx) -> None:
    body = ask("Search the web for the Oslo weather", tools=[WEB_SEARCH, WEATHER])
    plain = (await sbx.anthropic(body)).json()
    kinds = [b["type"] for b in plain["content"]]
    assert kinds[:4] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    use, results = plain["content"][1], plain["content"][2]
    assert use["id"].startswith("srvtoolu_") and use["name"] == "web_search" and use["input"]["query"]
    assert results["tool_use_id"] == use["id"] and len(results["content"]) == 3
    assert {"type", "url", "title", "encrypted_content", "page_age"} <= set(results["content"][0])
    (citation,) = plain["content"][3]["citations"]
    assert citation["type"] == "web_search_result_location" and citation["url"] == results["content"][0]["url"]
    assert plain["stop_reason"] == "end_turn"
    assert plain["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}
    events = (await sbx.anthropic({**body, "stream": True})).anthropic_events()
    check_anthropic_grammar(events)
    assert events[-2][1]["usage"]["server_tool_use"]["web_search_requests"] == 1
    plain_no_search = (await sbx.anthropic(ask("Hello", tools=[WEB_SEARCH]))).json()
    assert [b["type"] for b in plain_no_search["content"]] == ["text"] and "server_tool_use" not in plain_no_search[
        "usage"
    ]


async def test_pause_turn_then_continue(sbx) -> None:
    body = ask("Search for recent news [[pause_turn]]", tools=[WEB_SEARCH])
    paused = (await sbx.anthropic(body)).json()
    assert paused["stop_reason"] == "pause_turn"
    assert paused["content"][-1]["type"] == "web_search_tool_result"
    body["messages"].append({"role": "assistant", "content": paused["content"]})
    resumed = await sbx.anthropic({**body, "stream": True})
    assert resumed.status == 200, resumed.text
    message = resumed.anthropic_message()
    assert message["stop_reason"] == "end_turn"
    assert message["content"][0]["citations"][0]["url"] == paused["content"][-1]["content"][0]["url"]
    assert "server_tool_use" not in message["usage"]  # no new search
    tampered = copy.deepcopy(body)
    tampered["messages"][-1]["content"][-1]["content"][0]["encrypted_content"] = "T1RTQ" + "A" * 43
    reply = await sbx.anthropic(tampered)
    assert reply.status == 400 and "Invalid `encrypted_content`" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ({**WEB_SEARCH, "name": "search"}, "tools.0.web_search_20250305.name: Input should be 'web_search'"),
        ({**WEB_SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}, "cannot be used together"),
        ({**WEB_SEARCH, "max_uses": 0}, "max_uses: Input should be greater than 0"),
    ],
)
async def test_web_search_tool_rules(sbx, tool, message) -> None:
    reply = await sbx.anthropic(ask("Search", tools=[tool]))
    assert reply.status == 400 and message in reply.json()["error"]["message"]


async def test_stop_sequences_and_refusal(sbx) -> None:
    stopped = (
        await sbx.anthropic(ask("Go [[stop:HALT]]", stop_sequences=["NEVER", "HALT"], stream=True))
    ).anthropic_message()
    assert stopped["stop_reason"] == "stop_sequence" and stopped["stop_sequence"] == "HALT"
    assert "HALT" not in stopped["content"][0]["text"]
    refused = (await sbx.anthropic(ask("Do something bad [[refusal]]", stream=True))).anthropic_events()
    check_anthropic_grammar(refused)
    assert refused[-2][1]["delta"] == {
        "stop_reason": "refusal",
        "stop_sequence": None,
        "stop_details": {"type": "refusal", "category": None, "explanation": None},
    }
