"""Anthropic request rules: headers and top-level parameters (messages are checked in ``conversation``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentoken_sandbox.anthropic.errors import AnthropicError, invalid

INVALID_KEY = "invalid-key"
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k",
        "stream", "metadata", "tools", "tool_choice", "thinking", "service_tier", "output_config",
        "output_format", "cache_control", "container", "mcp_servers", "context_management", "inference_geo",
    }
)  # fmt: skip
_CUSTOM_TOOL_TYPES = (None, "custom")
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


def check_top_level(body: Mapping[str, Any]) -> None:
    for name in body:
        if name not in KNOWN_FIELDS:
            raise invalid(f"{name}: Extra inputs are not permitted")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise invalid(f"{name}: Field required")
    if not isinstance(body["model"], str):
        raise invalid("model: Input should be a valid string")
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
            continue  # server tools (web_search_..., bash_..., ...) take no input_schema
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


def thinking_enabled(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def check_thinking(body: Mapping[str, Any]) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise invalid(
            "thinking: Input tag found using 'type' does not match any of the expected tags: "
            "'enabled', 'disabled', 'adaptive'"
        )
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if budget is None:
            raise invalid("thinking.enabled.budget_tokens: Field required")
        if not _is_int(budget):
            raise invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
        if budget < 1024:
            raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if body["max_tokens"] <= budget:
            raise invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                f"at {_DOCS}#max-tokens-and-context-window-size"
            )
    if kind == "disabled":
        return
    _check_thinking_compatibility(body)


def _check_thinking_compatibility(body: Mapping[str, Any]) -> None:
    compat = f"Please consult our documentation at {_DOCS}#feature-compatibility"
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        raise invalid(f"`temperature` may only be set to 1 when thinking is enabled. {compat}")
    top_p = body.get("top_p")
    if top_p is not None and not 0.95 <= top_p <= 1:
        raise invalid(f"`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. {compat}")
    if body.get("top_k") is not None:
        raise invalid(f"`top_k` must be unset when thinking is enabled. {compat}")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")


def check_output_format(body: Mapping[str, Any]) -> None:
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise invalid("output_config: Input should be a valid dictionary")
    formats = (("output_config.format", (config or {}).get("format")), ("output_format", body.get("output_format")))
    for where, fmt in formats:
        if fmt is None:
            continue
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise invalid(f"{where}.type: Input should be 'json_schema'")
        if not isinstance(fmt.get("schema"), dict):
            raise invalid(f"{where}.schema: Field required")


def check_model(model: str) -> None:
    if "does-not-exist" in model or not model.startswith("claude-"):
        raise AnthropicError(404, f"model: {model}")
