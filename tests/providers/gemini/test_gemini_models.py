"""Gemini's model list (``GET /v1beta/models``, ``models.list``): the page request and the parse of a page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from opentoken.core.errors import UpstreamProtocolError
from opentoken.providers.base import ListedModel
from opentoken.providers.gemini import PROVIDER

PAGE = {
    "models": [
        {
            "name": "models/gemini-2.5-flash",
            "baseModelId": "gemini-2.5-flash",
            "version": "001",
            "displayName": "Gemini 2.5 Flash",
            "description": "Stable version of Gemini 2.5 Flash",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
            "thinking": True,
        },
        {
            "name": "models/gemini-embedding-001",
            "version": "001",
            "displayName": "Gemini Embedding 001",
            "inputTokenLimit": 2048,
            "outputTokenLimit": 1,
            "supportedGenerationMethods": ["embedContent", "countTextTokens"],
        },
    ],
    "nextPageToken": "Ch1tb2RlbHMvZ2VtaW5p",
}


def test_the_first_and_next_page_requests() -> None:
    first = PROVIDER.model_list_request(None)
    url = urlsplit(first.path)
    assert url.path == "/v1beta/models" and parse_qs(url.query) == {"pageSize": ["1000"]}
    assert first.body == b"" and "key" not in parse_qs(url.query)  # the key goes in a header, never the URL
    nxt = urlsplit(PROVIDER.model_list_request("Ch1tb2RlbHMvZ2VtaW5p").path)
    assert parse_qs(nxt.query) == {"pageSize": ["1000"], "pageToken": ["Ch1tb2RlbHMvZ2VtaW5p"]}


def test_a_page_is_parsed_and_non_chat_models_are_marked() -> None:
    page = PROVIDER.parse_model_list(json.dumps(PAGE).encode())
    assert page.models == (
        ListedModel("gemini-2.5-flash", "Gemini 2.5 Flash", None, 1048576, 65536, True, True),
        ListedModel("gemini-embedding-001", "Gemini Embedding 001", None, 2048, 1, False, None),
    )
    assert page.next_cursor == "Ch1tb2RlbHMvZ2VtaW5p"


def test_the_last_page_has_no_token() -> None:
    assert PROVIDER.parse_model_list(json.dumps({"models": PAGE["models"]}).encode()).next_cursor is None
    assert PROVIDER.parse_model_list(b"{}").models == ()


@pytest.mark.parametrize("body", [b"<html>", b'{"models": {}}', b'{"models": [{"displayName": "no name"}]}'])
def test_an_unreadable_list_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match="model list"):
        PROVIDER.parse_model_list(body)
