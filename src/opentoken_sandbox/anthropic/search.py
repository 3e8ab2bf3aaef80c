"""The ``web_search`` server tool (``web_search_20250305`` and later versions).

When the request offers the tool and the last user text asks for a search (the word "search", or the markers
``[[web_search]]`` / ``[[pause_turn]]``), the reply runs one search: a text block, a ``server_tool_use`` block
(``srvtoolu_...``, input ``{"query": ...}``), a ``web_search_tool_result`` block with three results (``url``,
``title``, ``encrypted_content``, ``page_age``), then a text block citing the first result
(``web_search_result_location``) and the answer; ``usage.server_tool_use.web_search_requests`` is 1.

``[[pause_turn]]`` stands for a search that runs long: the reply stops after the results with
``stop_reason: "pause_turn"``. Sent back as the final assistant message, the paused turn continues: the reply
answers from those results (no new search). ``encrypted_content`` is signed, and results sent back are verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.anthropic.conversation import SEARCH_KIND, blocks_of
from opentoken_sandbox.anthropic.parse import MessagesCall
from opentoken_sandbox.scenario import clean
from opentoken_sandbox.signing import Signer

PAUSE_MARKER = "[[pause_turn]]"
_ASKS = re.compile(r"\bsearch\b|\[\[web_search\]\]|\[\[pause_turn\]\]", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")
INDEX_KIND = "anthropic.web_search_index"


@dataclass(frozen=True)
class SearchTurn:
    """query is None when the request continues a paused turn (the results come from the history)."""

    query: str | None
    results: tuple[dict[str, Any], ...]
    citation: dict[str, Any]
    paused: bool = False


def _results(query: str, signer: Signer) -> tuple[dict[str, Any], ...]:
    slug = _SLUG.sub("-", query.lower()).strip("-")[:40] or "query"
    out = []
    for n in range(1, 4):
        url = f"https://example.com/{slug}/{n}"
        out.append(
            {
                "type": "web_search_result",
                "title": f"{query[:60]} - result {n}",
                "url": url,
                "encrypted_content": signer.sign(SEARCH_KIND, url.encode()),
                "page_age": f"{n} days ago",
            }
        )
    return tuple(out)


def title_of(result: dict[str, Any]) -> str:
    title = result.get("title")
    return title if isinstance(title, str) else result["url"]


def _citation(result: dict[str, Any], signer: Signer) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "cited_text": f"{title_of(result)}: a page found by the sandbox's simulated web search.",
        "url": result["url"],
        "title": title_of(result),
        "encrypted_index": signer.sign(INDEX_KIND, result["url"].encode()),
    }


def _paused_results(call: MessagesCall) -> tuple[dict[str, Any], ...] | None:
    """The results of a paused turn when the conversation ends with it."""
    last = call.history[-1] if call.history else None
    if last is None or last["role"] != "assistant":
        return None
    blocks = blocks_of(last)
    if not blocks or blocks[-1].get("type") != "web_search_tool_result":
        return None
    content = blocks[-1].get("content")
    if not isinstance(content, list):
        return None
    found = tuple(r for r in content if isinstance(r, dict) and r.get("type") == "web_search_result")
    return found or None


def plan_search(call: MessagesCall, signer: Signer) -> SearchTurn | None:
    if not call.web_search:
        return None
    earlier = _paused_results(call)
    if earlier is not None:
        return SearchTurn(None, earlier, _citation(earlier[0], signer))
    if not _ASKS.search(call.prompt.text):
        return None
    query = clean(call.prompt.text)[:80] or "sandbox"
    results = _results(query, signer)
    return SearchTurn(query, results, _citation(results[0], signer), paused=PAUSE_MARKER in call.prompt.text)
