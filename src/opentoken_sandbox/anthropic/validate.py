"""Anthropic request rules: headers and top-level parameters (messages are checked in ``conversation``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentoken_sandbox.anthropic.errors import AnthropicError, invalid
from opentoken_sandbox.anthropic.models import ClaudeModel

INVALID_KEY = "invalid-key"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k",
        "stream", "metadata", "tools", "tool_choice", "thinking", "service_tier", "output_config",
        "output_format", "cache_control", "container", "mcp_servers", "context_management", "inference_geo",
        "diagnostics", "fallbacks", "fallback_credit_token", "speed",
    }
)  # fmt: skip
COUNT_FIELDS = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "output_format",
        "context_management", "mcp_servers", "cache_control", "speed",
    }
)  # fmt: skip
_CUSTOM_TOOL_TYPES = (None, "custom")
WEB_SEARCH = re.compile(r"^web_search_\d{8}$")
_CHOICE_TYPES = ("auto", "any", "tool", "none")


def check_headers(headers: Mapping[str, str]) -> None:
    key = headers.get("x-api-key")
    if not key:
        raise AnthropicError(401, "x-api-key header is required")
    if key == INVALID_KEY:
        raise AnthropicError(401, "invalid x-api-key")
    if not headers.get("anthropic-version"):
        raise invalid("anthropic-version: header is required")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_top_level(body: Mapping[str, Any], *, counting: bool = False) -> None:
    """Field names, required fields and their types; ``counting``: the ``count_tokens`` field set."""
    known = COUNT_FIELDS if counting else KNOWN_FIELDS
    for name in body:
        if name not in known:
            raise invalid(f"{name}: Extra inputs are not permitted")
    for name in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if name not in body:
            raise invalid(f"{name}: Field required")
    if not isinstance(body["model"], str):
        raise invalid("model: Input should be a valid string")
    if not counting:
        max_tokens = body["max_tokens"]
        if not _is_int(max_tokens):
            raise invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise invalid("max_tokens: Input should be greater than or equal to 1")
    if not isinstance(body["messages"], list):
        raise invalid("messages: Input should be a valid list")
    if not body["messages"]:
        raise invalid("messages: at least one message is required")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid("stream: Input should be a valid boolean")
    _check_sampling(body)
    _check_system(body.get("system"))
    _check_stop_sequences(body.get("stop_sequences"))


def _check_sampling(body: Mapping[str, Any]) -> None:
    for name, high in (("temperature", 1), ("top_p", 1)):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise invalid(f"{name}: Input should be a valid number")
        if value < 0:
            raise invalid(f"{name}: Input should be greater than or equal to 0")
        if value > high:
            raise invalid(f"{name}: Input should be less than or equal to {high}")
    top_k = body.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 0):
        raise invalid("top_k: Input should be a valid integer greater than or equal to 0")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"system.{i}: Input should be a valid dictionary or object to extract fields from")
        if not isinstance(block.get("text"), str):
            raise invalid(f"system.{i}.text: Field required")
        if not block["text"]:
            raise invalid(f"system.{i}.text: text content blocks must be non-empty")


def _check_stop_sequences(stops: Any) -> None:
    if stops is None:
        return
    if not isinstance(stops, list):
        raise invalid("stop_sequences: Input should be a valid list")
    for i, stop in enumerate(stops):
        if not isinstance(stop, str):
            raise invalid(f"stop_sequences.{i}: Input should be a valid string")
        if not stop.strip():
            raise invalid(f"stop_sequences.{i}: Stop sequences must contain non-whitespace characters.")


def check_tools(body: Mapping[str, Any], uses_tool_blocks: bool) -> None:
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise invalid(f"tools.{i}: Input should be a valid dictionary")
        if tool.get("type") not in _CUSTOM_TOOL_TYPES:
            _check_server_tool(i, tool, names)  # server tools (web_search_..., bash_..., ...) take no input_schema
            continue
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid(f"tools.{i}.custom.name: Field required")
        if not _TOOL_NAME.match(name):
            raise invalid(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if name in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise invalid(f"tools.{i}.custom.input_schema: Field required")
        if schema.get("type") != "object":
            raise invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
    if uses_tool_blocks and not tools:
        raise invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
    _check_tool_choice(body.get("tool_choice"), names, bool(tools))


def _check_server_tool(i: int, tool: Mapping[str, Any], names: set[str]) -> None:
    kind = tool.get("type")
    if not isinstance(kind, str):
        raise invalid(f"tools.{i}: Input tag found using 'type' does not match any of the expected tags")
    if WEB_SEARCH.match(kind):
        if tool.get("name") != "web_search":
            raise invalid(f"tools.{i}.{kind}.name: Input should be 'web_search'")
        if tool.get("allowed_domains") and tool.get("blocked_domains"):
            raise invalid(f"tools.{i}.{kind}: allowed_domains and blocked_domains cannot be used together")
        uses = tool.get("max_uses")
        if uses is not None and (not _is_int(uses) or uses < 1):
            raise invalid(f"tools.{i}.{kind}.max_uses: Input should be greater than 0")
    name = tool.get("name")
    if isinstance(name, str):
        if name in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(name)


def _check_tool_choice(choice: Any, names: set[str], has_tools: bool) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in _CHOICE_TYPES:
        raise invalid(
            "tool_choice: Input tag found using 'type' does not match any of the expected tags: "
            "'auto', 'any', 'tool', 'none'"
        )
    if choice["type"] in ("any", "tool") and not has_tools:
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if choice["type"] == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise invalid("tool_choice.tool.name: Field required")
        if name not in names:
            raise invalid(f"tool_choice.tool.name: Tool '{name}' not found in tools")


def check_model(model: str) -> None:
    if not ClaudeModel(model).exists:
        raise AnthropicError(404, f"model: {model}")


def cache_points(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every ``cache_control`` in processing order (tools, system, messages, then the top-level one)."""
    points: list[tuple[str, Any]] = []

    def visit(where: str, block: Any) -> None:
        if isinstance(block, dict) and "cache_control" in block:
            points.append((where, block["cache_control"]))

    for i, tool in enumerate(body.get("tools") or []):
        visit(f"tools.{i}", tool)
    system = body.get("system")
    for i, block in enumerate(system if isinstance(system, list) else []):
        visit(f"system.{i}", block)
    for i, message in enumerate(body["messages"]):
        content = message.get("content")
        for j, block in enumerate(content if isinstance(content, list) else []):
            visit(f"messages.{i}.content.{j}", block)
            inner = block.get("content") if block.get("type") == "tool_result" else None
            for k, part in enumerate(inner if isinstance(inner, list) else []):
                visit(f"messages.{i}.content.{j}.content.{k}", part)
    if "cache_control" in body:
        points.append(("cache_control", body["cache_control"]))
    return points


def check_cache_controls(body: Mapping[str, Any]) -> None:
    points = [(w, c) for w, c in cache_points(body) if c is not None]
    seen_short = False
    for where, control in points:
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            raise invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
        ttl = control.get("ttl", "5m")
        if ttl not in ("5m", "1h"):
            raise invalid(f"{where}.cache_control.ephemeral.ttl: Input should be '5m' or '1h'")
        if ttl == "1h" and seen_short:
            raise invalid(
                f"{where}.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' "
                "cache_control block. Note that blocks are processed in the following order: `tools`, `system`, "
                "`messages`."
            )
        seen_short |= ttl == "5m"
    if len(points) > 4:
        raise invalid(f"A maximum of 4 blocks with cache_control may be provided. Found {len(points)}.")
