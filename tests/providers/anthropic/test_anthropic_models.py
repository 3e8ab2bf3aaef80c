"""Anthropic's model list (``GET /v1/models``): the page request and the parse of a page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from opentoken.core.errors import UpstreamProtocolError
from opentoken.providers.anthropic import PROVIDER
from opentoken.providers.base import ListedModel

PAGE = {
    "data": [
        {
            "type": "model",
            "id": "claude-sonnet-4-6",
            "display_name": "Claude Sonnet 4.6",
            "created_at": "2026-02-17T00:00:00Z",
        },
        {
            "type": "model",
            "id": "claude-haiku-4-5-20251001",
            "display_name": "Claude Haiku 4.5",
            "created_at": "2025-10-15T00:00:00Z",
            "max_input_tokens": 200000,
            "max_tokens": 64000,
            "capabilities": {"something": {"supported": True}},
        },
    ],
    "has_more": True,
    "first_id": "claude-sonnet-4-6",
    "last_id": "claude-haiku-4-5-20251001",
}


def test_the_first_and_next_page_requests() -> None:
    first = PROVIDER.model_list_request(None)
    url = urlsplit(first.path)
    assert url.path == "/v1/models" and parse_qs(url.query) == {"limit": ["1000"]}
    assert first.headers["anthropic-version"] == "2023-06-01" and first.body == b"" and not first.stream
    after = urlsplit(PROVIDER.model_list_request("claude-haiku-4-5-20251001").path)
    assert parse_qs(after.query) == {"limit": ["1000"], "after_id": ["claude-haiku-4-5-20251001"]}


def test_a_page_is_parsed_with_the_cursor_for_the_next_one() -> None:
    page = PROVIDER.parse_model_list(json.dumps(PAGE).encode())
    assert page.models == (
        ListedModel("claude-sonnet-4-6", "Claude Sonnet 4.6", 1771286400),
        ListedModel("claude-haiku-4-5-20251001", "Claude Haiku 4.5", 1760486400, 200000, 64000),
    )
    assert page.next_cursor == "claude-haiku-4-5-20251001"


def test_the_last_page_has_no_cursor() -> None:
    last = PROVIDER.parse_model_list(json.dumps({**PAGE, "has_more": False}).encode())
    assert last.next_cursor is None
    empty = PROVIDER.parse_model_list(b'{"data": [], "has_more": false, "first_id": null, "last_id": null}')
    assert empty.models == () and empty.next_cursor is None


@pytest.mark.parametrize("body", [b"not json", b'{"models": []}', b'{"data": [{"display_name": "no id"}]}'])
def test_an_unreadable_list_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match="model list"):
        PROVIDER.parse_model_list(body)
