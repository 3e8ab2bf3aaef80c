"""Canonical ``ChatRequest`` + ``ModelInfo`` -> ``POST /v1/messages`` (``UpstreamRequest``).

Parameter rules (wire-formats D.1, D.6). Every change the adapter makes is listed in
``UpstreamRequest.adjusted`` by the canonical field name; what cannot be honoured is a 400 naming it.

- ``max_tokens``: the request's value or the model's default; above ``max_output_tokens`` it is a 400.
- ``temperature`` above 1 is capped to 1 (Anthropic's range is 0-1). Claude 4.x models take ``temperature``
  or ``top_p`` but not both, so when both are set ``top_p`` is dropped.
- ``stop`` -> ``stop_sequences``. Anthropic rejects whitespace-only stop sequences, so they are a 400 with
  naming ``stop`` rather than silently removed (removing them would change where the reply stops).
- ``candidate_count`` > 1 and ``logprobs`` are 400s; ``seed``, ``presence_penalty``, ``frequency_penalty``
  and ``top_logprobs`` have no Anthropic equivalent and are dropped. ``top_k`` is sent as is.
- ``reasoning_effort`` through the catalog's ``ReasoningSpec``: ``budget`` -> ``thinking.enabled`` with
  ``budget_tokens`` >= 1024 and below ``max_tokens`` (``max_tokens`` is raised by the budget, capped at the
  model's limit, and the budget lowered if it still does not fit); ``reasoning_budget`` (a budget the
  client set) wins over the effort's budget on budget-style models; ``adaptive`` -> ``thinking.adaptive``
  plus ``output_config.effort``; ``none`` -> no thinking. While thinking, ``temperature`` is dropped
  (reported unless it was 1, the one value thinking allows), ``top_p`` is raised to at least 0.95 and a
  forced ``tool_choice`` becomes ``auto``.
- Tools: ``strict`` is dropped. A history with tool calls but no ``tools`` gets minimal definitions
  (``{"type": "object"}`` input, a note as description) for the names it uses, because Anthropic refuses
  tool blocks without tool definitions; ``tool_choice`` is then ``none`` so the model cannot call them.
- ``response_format``: ``json_schema`` -> ``output_config.format`` on models with structured output (else a
  400). ``json_object`` has no Anthropic equivalent: structured output needs a schema whose objects list
  their properties, so "any JSON object" cannot be expressed. It is emulated by an instruction appended to
  ``system`` (reply with one JSON object and nothing else), which works on every model, with thinking and
  with tools, in streams and not; it is reported as adjusted because the reply is not machine-enforced.
- ``user`` -> ``metadata.user_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, Tool
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.providers.anthropic import wire
from opentoken.providers.anthropic.messages import Conversation, map_conversation
from opentoken.providers.base import UpstreamRequest

MESSAGES_PATH = "/v1/messages"
ANTHROPIC_VERSION = "2023-06-01"
MIN_THINKING_BUDGET = 1024
MIN_TOP_P_WHILE_THINKING = 0.95
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no Markdown code fences."
SYNTHETIC_TOOL_DESCRIPTION = "A tool used earlier in this conversation (its definition was not sent)."
EMPTY_OBJECT_SCHEMA = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class _Reasoning:
    thinking: wire.ThinkingConfig | None = None
    effort: str | None = None

    @property
    def on(self) -> bool:
        return isinstance(self.thinking, wire.ThinkingEnabled | wire.ThinkingAdaptive)


def build_request(request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
    adjusted: list[str] = []
    _check_unsupported(request, adjusted)
    conversation = map_conversation(request.messages, model)
    reasoning = _reasoning(request, model)
    max_tokens = _max_tokens(request, model)
    if isinstance(reasoning.thinking, wire.ThinkingEnabled):
        max_tokens, reasoning = _fit_budget(reasoning.thinking.budget_tokens, max_tokens, request, model, adjusted)
    temperature, top_p = _sampling(request, reasoning.on, adjusted)
    tools, tool_choice = _tools(request, conversation, model, reasoning.on, adjusted)
    system, output_format = _response_format(request, model, conversation.system, adjusted)
    output_config = None
    if reasoning.effort is not None or output_format is not None:
        output_config = wire.OutputConfig(effort=reasoning.effort, format=output_format)
    body = wire.MessagesRequest(
        model=model.upstream_model,
        max_tokens=max_tokens,
        messages=conversation.messages,
        stream=request.stream,
        system=system,
        stop_sequences=_stop_sequences(request),
        temperature=temperature,
        top_p=top_p,
        top_k=request.top_k,
        tools=tools,
        tool_choice=tool_choice,
        thinking=reasoning.thinking,
        output_config=output_config,
        metadata=wire.Metadata(user_id=request.user) if request.user else None,
    )
    return UpstreamRequest(
        path=MESSAGES_PATH,
        body=wire.encoder.encode(body),
        headers={
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream" if request.stream else "application/json",
        },
        stream=request.stream,
        adjusted=tuple(dict.fromkeys(adjusted)),
    )


def _check_unsupported(request: ChatRequest, adjusted: list[str]) -> None:
    if request.candidate_count > 1:
        raise UnsupportedParameter(
            "Anthropic models return one reply per request; ask for one.", loc=("candidate_count",)
        )
    if request.logprobs:
        raise UnsupportedParameter("Anthropic models do not return log probabilities.", loc=("logprobs",))
    dropped = {
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "top_logprobs": request.top_logprobs,
    }
    adjusted.extend(name for name, value in dropped.items() if value is not None)


def _max_tokens(request: ChatRequest, model: ModelInfo) -> int:
    if request.max_tokens is None:
        return min(model.default_max_tokens, model.max_output_tokens)
    if request.max_tokens < 1:
        raise InvalidRequest("max_tokens must be at least 1.", loc=("max_tokens",))
    if request.max_tokens > model.max_output_tokens:
        raise InvalidRequest(
            f"max_tokens is too large: {request.max_tokens}. {model.id} supports at most "
            f"{model.max_output_tokens} output tokens.",
            loc=("max_tokens",),
        )
    return request.max_tokens


def _stop_sequences(request: ChatRequest) -> list[str] | None:
    for sequence in request.stop:
        if not sequence.strip():
            raise InvalidRequest(
                "Stop sequences must contain a non-whitespace character for Anthropic models.", loc=("stop",)
            )
    return list(request.stop) or None


def _sampling(request: ChatRequest, thinking: bool, adjusted: list[str]) -> tuple[float | None, float | None]:
    temperature, top_p = request.temperature, request.top_p
    if temperature is not None and temperature > 1:
        temperature = 1.0
        adjusted.append("temperature")
    if thinking:
        if temperature is not None and temperature != 1:
            adjusted.append("temperature")
        temperature = None  # only the default (1) is allowed while thinking
        if top_p is not None and top_p < MIN_TOP_P_WHILE_THINKING:
            top_p = MIN_TOP_P_WHILE_THINKING
            adjusted.append("top_p")
    if temperature is not None and top_p is not None:
        top_p = None
        adjusted.append("top_p")
    return temperature, top_p


# ---- reasoning ----


def _reasoning(request: ChatRequest, model: ModelInfo) -> _Reasoning:
    effort, spec = request.reasoning_effort, model.reasoning
    capable = model.capabilities.reasoning and spec.style != "none"
    if request.reasoning_budget is not None and capable and spec.style == "budget":
        return _Reasoning(wire.ThinkingEnabled(budget_tokens=max(request.reasoning_budget, MIN_THINKING_BUDGET)))
    if effort is None:
        return _Reasoning()
    if effort == "none" or (capable and spec.style == "budget" and spec.budgets.get(effort) == 0):
        if capable and spec.default_on:
            if not spec.can_disable:
                raise UnsupportedParameter(f"{model.id} cannot turn thinking off.", loc=("reasoning_effort",))
            return _Reasoning(wire.ThinkingDisabled())
        return _Reasoning()
    if not capable:
        raise UnsupportedParameter(f"{model.id} does not support reasoning_effort.", loc=("reasoning_effort",))
    table: dict[str, int] | dict[str, str] = spec.budgets if spec.style == "budget" else spec.levels
    if spec.style not in ("budget", "adaptive") or effort not in table:
        choices = ", ".join(["none", *table]) if spec.style in ("budget", "adaptive") else "none"
        raise UnsupportedParameter(
            f"reasoning_effort {effort!r} is not supported by {model.id}; use one of: {choices}.",
            loc=("reasoning_effort",),
        )
    if spec.style == "adaptive":
        return _Reasoning(wire.ThinkingAdaptive(), spec.levels[effort])
    budget = spec.budgets[effort]
    if spec.max_budget:
        budget = min(budget, spec.max_budget)
    budget = max(budget, spec.min_budget, MIN_THINKING_BUDGET)
    return _Reasoning(wire.ThinkingEnabled(budget_tokens=budget))


def _fit_budget(
    budget: int, max_tokens: int, request: ChatRequest, model: ModelInfo, adjusted: list[str]
) -> tuple[int, _Reasoning]:
    """Keep ``budget_tokens < max_tokens``: raise max_tokens by the budget (the answer keeps the room the
    client asked for), capped at the model limit; lower the budget (not below 1024) if it still does not fit."""
    if budget < max_tokens:
        return max_tokens, _Reasoning(wire.ThinkingEnabled(budget_tokens=budget))
    raised = min(budget + max_tokens, model.max_output_tokens)
    if budget >= raised:
        budget = max(MIN_THINKING_BUDGET, raised - max_tokens)
        adjusted.append("reasoning_effort")
        if budget >= raised:
            raise UnsupportedParameter(
                f"{model.id} cannot think within {raised} output tokens.", loc=("reasoning_effort",)
            )
    if request.max_tokens is not None:
        adjusted.append("max_tokens")
    return raised, _Reasoning(wire.ThinkingEnabled(budget_tokens=budget))


# ---- tools ----


def _tool(tool: Tool) -> wire.ToolParam:
    schema = dict(tool.parameters) if tool.parameters else dict(EMPTY_OBJECT_SCHEMA)
    if "type" not in schema:
        schema = {"type": "object", **schema}
    return wire.ToolParam(name=tool.name, input_schema=schema, description=tool.description or None)


def _tools(
    request: ChatRequest, conversation: Conversation, model: ModelInfo, thinking: bool, adjusted: list[str]
) -> tuple[list[wire.ToolParam] | None, wire.ToolChoice | None]:
    if request.tools:
        if not model.capabilities.tools:
            raise UnsupportedParameter(f"{model.id} does not support tools.", loc=("tools",))
        if any(t.strict for t in request.tools):
            adjusted.append("tools.function.strict")
        return [_tool(t) for t in request.tools], _tool_choice(request, thinking, adjusted)
    choice = request.tool_choice
    if choice is not None and choice.mode in ("required", "function"):
        raise InvalidRequest("tool_choice forces a tool call but no tools were given.", loc=("tool_choice",))
    if conversation.has_tool_blocks and conversation.tool_names:
        synthetic = [
            wire.ToolParam(name=name, input_schema=dict(EMPTY_OBJECT_SCHEMA), description=SYNTHETIC_TOOL_DESCRIPTION)
            for name in conversation.tool_names
        ]
        return synthetic, wire.ToolChoiceNone()
    return None, None


def _tool_choice(request: ChatRequest, thinking: bool, adjusted: list[str]) -> wire.ToolChoice | None:
    choice = request.tool_choice
    disable = True if request.parallel_tool_calls is False else None
    if choice is None:
        return wire.ToolChoiceAuto(disable_parallel_tool_use=True) if disable else None
    if choice.mode == "function" and choice.name not in {t.name for t in request.tools}:
        raise InvalidRequest(f"tool_choice names an unknown tool: {choice.name!r}.", loc=("tool_choice",))
    mode = choice.mode
    if thinking and mode in ("required", "function"):
        adjusted.append("tool_choice")  # Anthropic does not allow forced tool use while thinking
        mode = "auto"
    match mode:
        case "none":
            return wire.ToolChoiceNone()
        case "auto":
            return wire.ToolChoiceAuto(disable_parallel_tool_use=disable)
        case "required":
            return wire.ToolChoiceAny(disable_parallel_tool_use=disable)
        case "function":
            return wire.ToolChoiceTool(name=choice.name or "", disable_parallel_tool_use=disable)


# ---- response format ----


def _response_format(
    request: ChatRequest, model: ModelInfo, system: str | None, adjusted: list[str]
) -> tuple[str | None, wire.JSONSchemaFormat | None]:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return system, None
    if fmt.type == "json_object":
        adjusted.append("response_format")
        return (f"{system}\n\n{JSON_OBJECT_INSTRUCTION}" if system else JSON_OBJECT_INSTRUCTION), None
    if not model.capabilities.structured_output:
        raise UnsupportedParameter(
            f"{model.id} does not support structured output (response_format json_schema).",
            loc=("response_format",),
        )
    if fmt.schema is None:
        raise InvalidRequest("response_format json_schema needs a schema.", loc=("response_format",))
    return system, wire.JSONSchemaFormat(schema=fmt.schema)
