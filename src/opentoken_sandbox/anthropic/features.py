"""Anthropic request rules that depend on the model or on a beta: thinking, effort, output format, metadata,
context management, and the output-token limit.

Messages quote the real API where a recording or a public report has them (``adaptive thinking is not
supported on this model``, ``This model does not support the effort parameter``, ``"thinking.type.enabled" is
not supported for this model...``, ``context_management: Extra inputs are not permitted`` without the beta
header, ``max_tokens: N > M, which is the maximum allowed number of output tokens for <snapshot>``); the others
use the API's pydantic-style ``<path>: <problem>`` wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentoken_sandbox.anthropic.errors import invalid
from opentoken_sandbox.anthropic.models import EFFORTS, ClaudeModel

CONTEXT_BETA = "context-management-2025-06-27"
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_DISPLAYS = ("summarized", "omitted")
_THINKING_KEYS = {
    "enabled": {"type", "budget_tokens", "display"},
    "adaptive": {"type", "display"},
    "disabled": {"type"},
}
_OUTPUT_KEYS = {"effort", "format", "task_budget"}
_EDITS = ("clear_tool_uses_20250919", "clear_thinking_20251015", "compact_20260112")


def betas(headers: Mapping[str, str]) -> frozenset[str]:
    """The ``anthropic-beta`` values (comma-separated, possibly repeated headers); unknown values are fine."""
    values = getattr(headers, "getall", None)
    raw = values("anthropic-beta", []) if values else [headers.get("anthropic-beta", "")]
    return frozenset(v.strip() for header in raw for v in header.split(",") if v.strip())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def thinking_on(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def check_max_tokens(body: Mapping[str, Any], model: ClaudeModel) -> None:
    limit = model.max_output_tokens
    if limit is not None and body["max_tokens"] > limit:
        raise invalid(
            f"max_tokens: {body['max_tokens']} > {limit}, which is the maximum allowed number of output tokens "
            f"for {model.snapshot}"
        )


def check_thinking(body: Mapping[str, Any], model: ClaudeModel, *, counting: bool = False) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if not isinstance(kind, str) or kind not in _THINKING_KEYS:
        raise invalid(
            "thinking: Input tag found using 'type' does not match any of the expected tags: "
            "'enabled', 'disabled', 'adaptive'"
        )
    for key in thinking:
        if key not in _THINKING_KEYS[kind]:
            raise invalid(f"thinking.{kind}.{key}: Extra inputs are not permitted")
    display = thinking.get("display")
    if display is not None and display not in _DISPLAYS:
        raise invalid(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "enabled":
        _check_budget(thinking, body, model, counting)
    if kind == "adaptive" and not model.adaptive_thinking:
        raise invalid("adaptive thinking is not supported on this model")
    if kind != "disabled":
        _check_thinking_compatibility(body)


def _check_budget(thinking: Mapping[str, Any], body: Mapping[str, Any], model: ClaudeModel, counting: bool) -> None:
    if model.adaptive_only:
        raise invalid(
            '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
            '"output_config.effort" to control thinking behavior.'
        )
    budget = thinking.get("budget_tokens")
    if budget is None:
        raise invalid("thinking.enabled.budget_tokens: Field required")
    if not _is_int(budget):
        raise invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
    if budget < 1024:
        raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if not counting and body["max_tokens"] <= budget:
        raise invalid(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
            f"at {_DOCS}#max-tokens-and-context-window-size"
        )


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


def check_output_config(body: Mapping[str, Any], model: ClaudeModel) -> None:
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise invalid("output_config: Input should be a valid dictionary")
    for key in config or {}:
        if key not in _OUTPUT_KEYS:
            raise invalid(f"output_config.{key}: Extra inputs are not permitted")
    effort = (config or {}).get("effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise invalid("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
        if not model.efforts:
            raise invalid("This model does not support the effort parameter")
        if effort not in model.efforts:
            raise invalid(f"This model does not support effort level '{effort}'.")
    formats = (("output_config.format", (config or {}).get("format")), ("output_format", body.get("output_format")))
    for where, fmt in formats:
        if fmt is None:
            continue
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise invalid(f"{where}.type: Input should be 'json_schema'")
        if not isinstance(fmt.get("schema"), dict):
            raise invalid(f"{where}.schema: Field required")


def check_metadata(body: Mapping[str, Any]) -> None:
    metadata = body.get("metadata")
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise invalid("metadata: Input should be a valid dictionary")
    for key, value in metadata.items():
        if key != "user_id":
            raise invalid(f"metadata.{key}: Extra inputs are not permitted")
        if value is not None and not isinstance(value, str):
            raise invalid("metadata.user_id: Input should be a valid string")
        if isinstance(value, str) and len(value) > 256:
            raise invalid("metadata.user_id: String should have at most 256 characters")


def check_context_management(body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    config = body.get("context_management")
    if config is None:
        return
    if CONTEXT_BETA not in betas(headers):
        raise invalid("context_management: Extra inputs are not permitted")
    if not isinstance(config, dict):
        raise invalid("context_management: Input should be a valid dictionary")
    edits = config.get("edits", [])
    if not isinstance(edits, list):
        raise invalid("context_management.edits: Input should be a valid list")
    kinds = []
    for i, edit in enumerate(edits):
        kind = edit.get("type") if isinstance(edit, dict) else None
        if kind not in _EDITS:
            tags = ", ".join(f"'{t}'" for t in _EDITS)
            raise invalid(
                f"context_management.edits.{i}: Input tag '{kind}' found using 'type' does not match any of the "
                f"expected tags: {tags}"
            )
        _check_edit(f"context_management.edits.{i}.{kind}", edit)
        kinds.append(kind)
    if "clear_thinking_20251015" in kinds:
        if not thinking_on(body):
            raise invalid("context_management: `clear_thinking_20251015` requires `thinking` to be enabled or adaptive")
        if kinds[0] != "clear_thinking_20251015":
            raise invalid(
                "context_management.edits: `clear_thinking_20251015` must come first when combined with other edits"
            )


def _check_edit(where: str, edit: Mapping[str, Any]) -> None:
    for name, tag in (("keep", None), ("trigger", None), ("clear_at_least", "input_tokens")):
        value = edit.get(name)
        if value is None or value in ("all",) or edit["type"] == "compact_20260112":
            continue
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise invalid(f"{where}.{name}: Input should be a valid dictionary")
        if value["type"] != "all" and (not _is_int(value.get("value")) or value["value"] < 0):
            raise invalid(f"{where}.{name}.value: Input should be a valid integer greater than or equal to 0")
        if tag is not None and value["type"] != tag:
            raise invalid(f"{where}.{name}.type: Input should be '{tag}'")
    exclude = edit.get("exclude_tools")
    if exclude is not None and (not isinstance(exclude, list) or not all(isinstance(t, str) for t in exclude)):
        raise invalid(f"{where}.exclude_tools: Input should be a valid list of strings")
