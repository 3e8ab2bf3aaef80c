"""Canonical ChatRequest -> Gemini ``generateContent`` request.

Parameter decisions (anything changed or dropped is listed in ``UpstreamRequest.adjusted``):

- ``max_tokens`` (or the model's ``default_max_tokens``) -> ``maxOutputTokens``; above the model's
  ``max_output_tokens`` it is a 400 naming ``max_tokens``, as OpenAI answers.
- ``stop`` -> ``stopSequences``; Gemini takes at most 5, more is a 400 naming ``stop``.
- ``candidate_count`` -> ``candidateCount``; ``seed``, ``temperature``, ``top_p``, ``top_k`` map one to one.
- ``presence_penalty``/``frequency_penalty`` are sent only if the catalog says the model takes them.
- ``logprobs``/``top_logprobs`` -> ``responseLogprobs``/``logprobs``.
- ``response_format``: ``json_schema`` -> ``application/json`` + ``responseJsonSchema`` (see ``schema``);
  ``json_object`` -> ``application/json``; ``text`` -> ``text/plain``.
- ``reasoning_effort`` -> ``thinkingConfig`` from the catalog's ``ReasoningSpec``: style ``budget`` sends
  ``thinkingBudget`` (clamped to the model's range), style ``level`` sends ``thinkingLevel``; never both.
  ``includeThoughts`` is true whenever the client asked for reasoning (any effort but ``none``).
  ``none`` turns thinking off where the model allows it (budget 0); on a model that cannot stop thinking it
  is mapped to the model's minimum (``min_budget``, or the ``minimal`` level) and reported as ``reasoning_effort``: the reply is as close to "no thinking" as the model
  allows, rather than an error for a value every OpenAI client may send.
- ``reasoning_budget`` (a token budget the client set, e.g. Anthropic's ``budget_tokens``) wins over the
  effort: style ``budget`` sends it clamped to the model's range; style ``level`` sends the level the
  catalog maps the nearest effort to (up to 1024 tokens ``low``, up to 8192 ``medium``, more ``high``).
- ``tools`` -> one ``functionDeclarations`` tool; ``tool_choice`` auto/none/required/function -> mode
  AUTO/NONE/ANY/ANY + ``allowedFunctionNames``. ``parallel_tool_calls: false`` has no Gemini equivalent
  (reported).
"""

from __future__ import annotations

import re

from opentoken.catalog.model import ModelInfo, ReasoningSpec
from opentoken.core.chat import ChatRequest, ReasoningEffort
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.providers.base import UpstreamRequest
from opentoken.providers.gemini import wire
from opentoken.providers.gemini.contents import build_contents
from opentoken.providers.gemini.schema import compile_schema

MAX_STOP_SEQUENCES = 5
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "function": "ANY"}


def request_path(model: ModelInfo, stream: bool) -> str:
    if stream:
        return f"/v1beta/models/{model.upstream_model}:streamGenerateContent?alt=sse"
    return f"/v1beta/models/{model.upstream_model}:generateContent"


def build_request(request: ChatRequest, model: ModelInfo) -> UpstreamRequest:
    adjusted: list[str] = []
    system, contents = build_contents(request.messages, signature_fallback=model.upstream_model.startswith("gemini-3"))
    tools, tool_config = _tools(request, adjusted)
    body = wire.GenerateContentRequest(
        contents=contents,
        system_instruction=system,
        tools=tools,
        tool_config=tool_config,
        generation_config=_generation_config(request, model, adjusted),
    )
    return UpstreamRequest(
        path=request_path(model, request.stream),
        body=wire.encode(body),
        headers={"content-type": "application/json"},
        stream=request.stream,
        adjusted=tuple(adjusted),
    )


def _generation_config(request: ChatRequest, model: ModelInfo, adjusted: list[str]) -> wire.GenerationConfig:
    wanted = request.max_tokens if request.max_tokens is not None else model.default_max_tokens
    if wanted > model.max_output_tokens:
        raise InvalidRequest(
            f"max_tokens is too large: {wanted}. {model.id} supports at most {model.max_output_tokens} output tokens.",
            loc=("max_tokens",),
        )
    if len(request.stop) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(f"Gemini accepts at most {MAX_STOP_SEQUENCES} stop sequences.", loc=("stop",))
    config = wire.GenerationConfig(
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        max_output_tokens=wanted,
        stop_sequences=list(request.stop) or None,
        candidate_count=request.candidate_count if request.candidate_count != 1 else None,
        seed=request.seed,
        thinking_config=_thinking(request, model, adjusted),
    )
    _penalties(config, request, model, adjusted)
    _logprobs(config, request, model, adjusted)
    _response_format(config, request)
    return config


def _penalties(config: wire.GenerationConfig, request: ChatRequest, model: ModelInfo, adjusted: list[str]) -> None:
    if model.capabilities.penalties:
        config.presence_penalty = request.presence_penalty
        config.frequency_penalty = request.frequency_penalty
        return
    if request.presence_penalty is not None:
        adjusted.append("presence_penalty")
    if request.frequency_penalty is not None:
        adjusted.append("frequency_penalty")


def _logprobs(config: wire.GenerationConfig, request: ChatRequest, model: ModelInfo, adjusted: list[str]) -> None:
    if not request.logprobs:
        return
    if not model.capabilities.logprobs:
        adjusted.append("logprobs")
        return
    config.response_logprobs = True
    if request.top_logprobs:
        config.logprobs = request.top_logprobs


def _response_format(config: wire.GenerationConfig, request: ChatRequest) -> None:
    fmt = request.response_format
    if fmt is None:
        return
    if fmt.type == "text":
        config.response_mime_type = "text/plain"
        return
    config.response_mime_type = "application/json"
    if fmt.type == "json_schema" and fmt.schema is not None:
        config.response_json_schema = compile_schema(fmt.schema)


def _budget_effort(budget: int) -> ReasoningEffort:
    return "low" if budget <= 1024 else "medium" if budget <= 8192 else "high"


def _thinking(request: ChatRequest, model: ModelInfo, adjusted: list[str]) -> wire.ThinkingConfig | None:
    effort = request.reasoning_effort
    spec = model.reasoning
    budget = request.reasoning_budget
    if budget is not None and spec.style == "budget":
        clamped = max(spec.min_budget, min(budget, spec.max_budget or budget))
        if clamped != budget:
            adjusted.append("reasoning_budget")
        return wire.ThinkingConfig(include_thoughts=True, thinking_budget=clamped)
    if budget is not None and spec.style == "level":
        effort = _budget_effort(budget)
    if effort is None or (effort == "none" and spec.style == "none"):
        return None
    if spec.style not in ("budget", "level"):
        raise UnsupportedParameter(f"{model.id} has no reasoning control.", loc=("reasoning_effort",))
    if effort == "none":
        off = _thinking_off(spec)
        if off is None:
            adjusted.append("reasoning_effort")
            return _thinking_minimum(spec)
        return off
    if spec.style == "level":
        level = spec.levels.get(effort)
        if level is None:
            raise UnsupportedParameter(
                f"reasoning_effort {effort!r} is not supported by {model.id}.", loc=("reasoning_effort",)
            )
        return wire.ThinkingConfig(include_thoughts=True, thinking_level=level)
    budget = spec.budgets.get(effort)
    if budget is None:
        raise UnsupportedParameter(
            f"reasoning_effort {effort!r} is not supported by {model.id}.", loc=("reasoning_effort",)
        )
    budget = max(spec.min_budget, min(budget, spec.max_budget or budget))
    return wire.ThinkingConfig(include_thoughts=True, thinking_budget=budget)


def _thinking_off(spec: ReasoningSpec) -> wire.ThinkingConfig | None:
    """Thinking switched off, or None when the model cannot do that."""
    if not spec.can_disable:
        return None
    if spec.style == "budget":
        return wire.ThinkingConfig(include_thoughts=False, thinking_budget=spec.budgets.get("none", 0))
    level = spec.levels.get("none")
    return wire.ThinkingConfig(include_thoughts=False, thinking_level=level) if level else None


def _thinking_minimum(spec: ReasoningSpec) -> wire.ThinkingConfig:
    """The least thinking the model allows (for ``none`` on a model that always thinks)."""
    if spec.style == "budget":
        return wire.ThinkingConfig(include_thoughts=False, thinking_budget=spec.min_budget)
    level = spec.levels.get("minimal") or spec.levels.get("low") or "low"
    return wire.ThinkingConfig(include_thoughts=False, thinking_level=level)


def _tools(request: ChatRequest, adjusted: list[str]) -> tuple[list[wire.Tool] | None, wire.ToolConfig | None]:
    if request.parallel_tool_calls is False and request.tools:
        adjusted.append("parallel_tool_calls")
    choice = request.tool_choice
    if not request.tools:
        if choice is not None and choice.mode in ("required", "function"):
            raise InvalidRequest("tool_choice requires tools.", loc=("tool_choice",))
        return None, None
    declarations = []
    for i, tool in enumerate(request.tools):
        if not _TOOL_NAME.fullmatch(tool.name):
            raise UnsupportedParameter(
                "Gemini function names must start with a letter or underscore and use only letters, digits, "
                "'_', '.', ':' and '-' (at most 128 characters).",
                loc=("tools", i, "name"),
            )
        schema = compile_schema(tool.parameters) if tool.parameters is not None else None
        if schema is not None and schema.get("type") == "object" and len(schema) == 1:
            schema = None  # no parameters at all
        declarations.append(
            wire.FunctionDeclaration(name=tool.name, description=tool.description, parameters_json_schema=schema)
        )
    if choice is None:
        return [wire.Tool(function_declarations=declarations)], None
    allowed = None
    if choice.mode == "function":
        if choice.name not in {t.name for t in request.tools}:
            raise InvalidRequest(f"tool_choice names an unknown function {choice.name!r}.", loc=("tool_choice",))
        allowed = [str(choice.name)]
    config = wire.FunctionCallingConfig(mode=_MODES[choice.mode], allowed_function_names=allowed)
    return [wire.Tool(function_declarations=declarations)], wire.ToolConfig(function_calling_config=config)
