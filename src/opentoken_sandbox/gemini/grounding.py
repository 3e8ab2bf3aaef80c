"""Grounding with Google Search (``tools: [{"googleSearch": {}}]``).

When the request offers the tool and the last user text asks for a search (the word "search" or the marker
``[[web_search]]``), a text answer carries ``groundingMetadata`` in its final candidate (the last chunk of a
stream): ``searchEntryPoint.renderedContent``, two ``groundingChunks`` (``web.uri`` redirect links and
``web.title`` domains), ``groundingSupports`` tying the answer's first sentence (UTF-8 byte offsets; a zero
``startIndex`` is left out, as proto3 JSON does) to the chunks, and ``webSearchQueries``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import urllib.parse
from typing import Any

from opentoken_sandbox.gemini.parse import GenerateCall
from opentoken_sandbox.scenario import Completion, clean

_ASKS = re.compile(r"\bsearch\b|\[\[web_search\]\]", re.IGNORECASE)
_SENTENCE = re.compile(r".+?(?:[.!?](?=\s)|$)", re.DOTALL)
_REDIRECT = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"


def _link(query: str, n: int) -> str:
    digest = hashlib.blake2b(f"{query}\x1f{n}".encode(), digest_size=48).digest()
    return _REDIRECT + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _entry_point(query: str) -> dict[str, str]:
    href = "https://www.google.com/search?q=" + urllib.parse.quote_plus(query)
    chip = f'<a class="chip" href="{html.escape(href)}">{html.escape(query)}</a>'
    return {
        "renderedContent": (
            "<style>\n.container { display: flex; }\n.chip { border-radius: 16px; }\n</style>\n"
            f'<div class="container">\n  <div class="carousel">\n    {chip}\n  </div>\n</div>\n'
        )
    }


def grounding_for(call: GenerateCall, completion: Completion) -> dict[str, Any] | None:
    if not call.search or not _ASKS.search(call.prompt.text) or not completion.text or completion.calls:
        return None
    query = clean(call.prompt.text)[:80] or "sandbox"
    text = completion.text_str
    match = _SENTENCE.match(text)
    first = match.group(0) if match else text
    segment: dict[str, Any] = {"endIndex": len(first.encode()), "text": first}
    return {
        "searchEntryPoint": _entry_point(query),
        "groundingChunks": [{"web": {"uri": _link(query, n), "title": f"example{n}.com"}} for n in (1, 2)],
        "groundingSupports": [{"segment": segment, "groundingChunkIndices": [0, 1]}],
        "webSearchQueries": [query],
    }
