"""Request features beyond the conversation: Anthropic's web search server tool and prompt-cache breakpoints.

- ``ChatRequest.web_search`` -> the ``web_search_20250305`` server tool (``max_uses``, ``allowed_domains``)
  on models whose catalog entry has ``web_search``; on others it is dropped and reported (``web_search``).
  Anthropic runs the searches itself; the reply carries ``server_tool_use`` / ``web_search_tool_result``
  blocks (``response.py``) and cited text.
- ``ChatRequest.prompt_cache_key`` asks for prompt caching: Anthropic caches explicitly, at ``cache_control``
  breakpoints, so the key turns on three of them (the last tool, the system prompt, the last text block of the
  conversation), enough to cache the stable prefix (tools, instructions, history) of agent loops. The key
  itself has no Anthropic equivalent and is not sent.
"""

from __future__ import annotations

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.providers.anthropic import wire


def web_search_tools(request: ChatRequest, model: ModelInfo, adjusted: list[str]) -> list[wire.WebSearchToolParam]:
    search = request.web_search
    if search is None:
        return []
    if not model.capabilities.web_search:
        adjusted.append("web_search")
        return []
    tool = wire.WebSearchToolParam()
    if search.max_uses is not None:
        tool.max_uses = search.max_uses
    if search.allowed_domains:
        tool.allowed_domains = list(search.allowed_domains)
    return [tool]


def with_cache_breakpoints(request: ChatRequest, body: wire.MessagesRequest) -> wire.MessagesRequest:
    """``body`` with cache breakpoints when the client gave a prompt cache key (at most 3 of Anthropic's 4)."""
    if not request.prompt_cache_key:
        return body
    mark = wire.CacheControl()
    functions = [t for t in body.tools or [] if isinstance(t, wire.ToolParam)]
    if functions:
        functions[-1].cache_control = mark
    if isinstance(body.system, str) and body.system:
        body.system = [wire.TextBlock(body.system, cache_control=mark)]
    for message in reversed(body.messages):
        text = next((b for b in reversed(message.content) if isinstance(b, wire.TextBlock)), None)
        if text is not None:
            text.cache_control = mark
            break
    return body
