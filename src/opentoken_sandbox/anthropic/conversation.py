"""Anthropic conversation rules: message shapes, tool_use/tool_result pairing, thinking in tool loops."""

from __future__ import annotations

from typing import Any

from opentoken_sandbox.anthropic.documents import check_document
from opentoken_sandbox.anthropic.errors import invalid
from opentoken_sandbox.anthropic.models import ClaudeModel
from opentoken_sandbox.signing import Check, Signer

THINKING_KIND = "anthropic.thinking"
REDACTED_KIND = "anthropic.redacted"
SEARCH_KIND = "anthropic.web_search"
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_USER_BLOCKS = ("text", "image", "document", "tool_result", "search_result")
_ASSISTANT_BLOCKS = (
    "text", "tool_use", "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result",
    "web_fetch_tool_result", "code_execution_tool_result", "mcp_tool_use", "mcp_tool_result",
)  # fmt: skip
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return content if isinstance(content, list) else []


def check_messages(messages: list[Any], model: ClaudeModel) -> bool:
    """Shapes and pairing; returns whether the history holds tool_use / tool_result blocks."""
    uses_tools = False
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") == "system" and model.system_messages:
            _check_system_message(i, messages)
            continue
        uses_tools |= _check_message(i, message, final=i == last)
    for i, message in enumerate(messages):
        if message["role"] == "user":
            _check_results_expected(i, messages)
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            _check_results_follow(i, messages)
    return uses_tools


def _check_system_message(i: int, messages: list[Any]) -> None:
    """Mid-conversation system messages: text only, right after a user turn (or an assistant turn that ends in
    a server tool use), followed by an assistant turn or nothing, never two in a row."""
    message = messages[i]
    content = message.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if not isinstance(blocks, list) or not blocks:
        raise invalid(f"messages.{i}.content: system messages must have non-empty text content")
    for j, block in enumerate(blocks):
        text = block.get("text") if isinstance(block, dict) and block.get("type") == "text" else None
        if not isinstance(text, str) or not text.strip():
            raise invalid(f"messages.{i}.content.{j}: system messages may only contain non-empty text blocks")
    previous = messages[i - 1] if i > 0 else None
    after_user = isinstance(previous, dict) and previous.get("role") == "user"
    after_server_tool = (
        isinstance(previous, dict)
        and previous.get("role") == "assistant"
        and bool(blocks_of(previous))
        and blocks_of(previous)[-1].get("type") == "web_search_tool_result"
    )
    if not (after_user or after_server_tool):
        raise invalid(f"messages.{i}: a system message must immediately follow a user message")
    following = messages[i + 1] if i + 1 < len(messages) else None
    if following is not None and (not isinstance(following, dict) or following.get("role") != "assistant"):
        raise invalid(f"messages.{i}: a system message must be followed by an assistant message or end the list")


def _check_message(i: int, message: Any, final: bool) -> bool:
    if not isinstance(message, dict) or "content" not in message:
        raise invalid(f"messages.{i}: Input does not match the expected shape.")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
    content = message["content"]
    if not isinstance(content, str | list):
        raise invalid(f"messages.{i}.content: Input should be a valid string or list")
    final_assistant = final and role == "assistant"
    if not content and not final_assistant:
        raise invalid(
            f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
        )
    if final_assistant and isinstance(content, str) and content != content.rstrip():
        raise invalid("messages: final assistant content cannot end with trailing whitespace")
    uses_tools = False
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    for j, block in enumerate(content if isinstance(content, list) else []):
        where = f"messages.{i}.content.{j}"
        if not isinstance(block, dict) or block.get("type") not in allowed:
            kind = block.get("type") if isinstance(block, dict) else None
            tags = ", ".join(f"'{t}'" for t in allowed)
            raise invalid(
                f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {tags}"
            )
        uses_tools |= block["type"] in ("tool_use", "tool_result")
        _check_block(where, block)
    return uses_tools


def _check_block(where: str, block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise invalid(f"{where}.text: Field required")
        if not text:
            raise invalid(f"{where}.text: text content blocks must be non-empty")
        if not text.strip():
            raise invalid(f"{where}.text: text content blocks must contain non-whitespace text")
    elif kind == "image":
        _check_image(where, block.get("source"))
    elif kind == "document":
        check_document(where, block)
    elif kind == "tool_use":
        for name in ("id", "name"):
            if not isinstance(block.get(name), str):
                raise invalid(f"{where}.tool_use.{name}: Field required")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{where}.tool_use.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid(f"{where}.tool_result.tool_use_id: Field required")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{where}.tool_result.is_error: Input should be a valid boolean")
        content = block.get("content")
        if content is not None and not isinstance(content, str | list):
            raise invalid(f"{where}.tool_result.content: Input should be a valid string or list")
        for k, inner in enumerate(content if isinstance(content, list) else []):
            if not isinstance(inner, dict) or inner.get("type") not in ("text", "image", "document", "search_result"):
                raise invalid(f"{where}.tool_result.content.{k}: Input does not match the expected shape.")
            if inner["type"] == "image":
                _check_image(f"{where}.tool_result.content.{k}", inner.get("source"))
            if inner["type"] == "document":
                check_document(f"{where}.tool_result.content.{k}", inner)
            if inner["type"] == "text" and not isinstance(inner.get("text"), str):
                raise invalid(f"{where}.tool_result.content.{k}.text: Input should be a valid string")
    elif kind == "thinking":
        for name in ("thinking", "signature"):
            if not isinstance(block.get(name), str):
                raise invalid(f"{where}.thinking.{name}: Field required")
    elif kind == "redacted_thinking" and not isinstance(block.get("data"), str):
        raise invalid(f"{where}.redacted_thinking.data: Field required")
    elif kind == "server_tool_use":
        for name in ("id", "name"):
            if not isinstance(block.get(name), str):
                raise invalid(f"{where}.server_tool_use.{name}: Field required")
    elif kind == "web_search_tool_result" and not isinstance(block.get("tool_use_id"), str):
        raise invalid(f"{where}.web_search_tool_result.tool_use_id: Field required")


def _check_image(where: str, source: Any) -> None:
    if not isinstance(source, dict) or source.get("type") not in ("base64", "url", "file"):
        raise invalid(f"{where}.image.source: Input does not match the expected shape.")
    if source["type"] == "base64":
        if source.get("media_type") not in _MEDIA_TYPES:
            raise invalid(
                f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
                "'image/gif' or 'image/webp'"
            )
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise invalid(f"{where}.image.source.base64.data: Field required")
    elif source["type"] == "url" and not isinstance(source.get("url"), str):
        raise invalid(f"{where}.image.source.url.url: Field required")


def _tool_use_ids(message: dict[str, Any]) -> list[str]:
    return [b["id"] for b in blocks_of(message) if b.get("type") == "tool_use"]


def _check_results_follow(i: int, messages: list[Any]) -> None:
    ids = _tool_use_ids(messages[i])
    if not ids:
        return
    following = messages[i + 1] if i + 1 < len(messages) else None
    answered = set()
    if following is not None and following["role"] == "user":
        answered = {b["tool_use_id"] for b in blocks_of(following) if b.get("type") == "tool_result"}
    missing = [tool_id for tool_id in ids if tool_id not in answered]
    if missing:
        at = i + 1 if following is not None else i
        raise invalid(
            f"messages.{at}: `tool_use` ids were found without `tool_result` blocks immediately after: "
            f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
            "in the next message."
        )


def _check_results_expected(i: int, messages: list[Any]) -> None:
    previous = messages[i - 1] if i > 0 and messages[i - 1]["role"] == "assistant" else None
    offered = set(_tool_use_ids(previous)) if previous is not None else set()
    other_seen = False
    for j, block in enumerate(blocks_of(messages[i])):
        if block.get("type") != "tool_result":
            other_seen = True
            continue
        if block["tool_use_id"] not in offered:
            raise invalid(
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block['tool_use_id']}. Each `tool_result` block must have a corresponding `tool_use` "
                "block in the previous message."
            )
        if other_seen:
            raise invalid(
                f"messages.{i}.content.{j}: `tool_result` blocks must come first in the user message, "
                "before any other content."
            )


def current_loop_start(messages: list[Any]) -> int:
    """Index after the last user message with ordinary content (the start of the current tool loop)."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message["role"] == "user" and any(b.get("type") != "tool_result" for b in blocks_of(message)):
            return i + 1
    return 0


def check_thinking_loop(messages: list[Any], signer: Signer, accept_foreign: bool, *, required: bool = True) -> None:
    """With thinking on, assistant tool_use turns of the current loop start with a valid thinking block.

    ``required=False`` (adaptive thinking, where the model may answer without thinking): thinking blocks that
    are present are verified, none is required.
    """
    for i in range(current_loop_start(messages), len(messages)):
        message = messages[i]
        if message["role"] != "assistant" or not _tool_use_ids(message):
            continue
        blocks = blocks_of(message)
        first = blocks[0].get("type")
        if required and first not in ("thinking", "redacted_thinking"):
            raise invalid(
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. "
                "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
                "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "
                "thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please "
                f"consult our documentation at {_DOCS}"
            )
        for j, block in enumerate(blocks):
            _check_signature(f"messages.{i}.content.{j}", block, signer, accept_foreign)


def _check_signature(where: str, block: dict[str, Any], signer: Signer, accept_foreign: bool) -> None:
    if block.get("type") == "thinking":
        verdict = signer.check(THINKING_KIND, block["thinking"].encode(), block["signature"])
        field = "signature"
    elif block.get("type") == "redacted_thinking":
        verdict = signer.check(REDACTED_KIND, b"", block["data"])
        field = "data"
    else:
        return
    if verdict is Check.VALID or (verdict is Check.FOREIGN and accept_foreign):
        return
    raise invalid(f"{where}: Invalid `{field}` in `{block['type']}` block")


def check_search_results(messages: list[Any], signer: Signer, accept_foreign: bool) -> None:
    """``web_search_tool_result`` blocks sent back must carry the ``encrypted_content`` they were given."""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        for j, block in enumerate(blocks_of(message)):
            content = block.get("content") if block.get("type") == "web_search_tool_result" else None
            for k, result in enumerate(content if isinstance(content, list) else []):
                if not isinstance(result, dict) or result.get("type") != "web_search_result":
                    continue
                sealed = result.get("encrypted_content")
                url = result.get("url")
                if not isinstance(sealed, str) or not isinstance(url, str):
                    raise invalid(f"messages.{i}.content.{j}.content.{k}: Input does not match the expected shape.")
                verdict = signer.check(SEARCH_KIND, url.encode(), sealed)
                if verdict is not Check.VALID and not (verdict is Check.FOREIGN and accept_foreign):
                    raise invalid(
                        f"messages.{i}.content.{j}.content.{k}: Invalid `encrypted_content` in `web_search_result`"
                    )
