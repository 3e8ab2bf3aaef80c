"""``GET /v1/models`` objects: OpenAI ``Model`` plus the fields a developer needs (OpenRouter style)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

from opentoken.catalog.model import ModelInfo
from opentoken.core.money import MILLION
from opentoken.ingress.openai.errors import ENCODER


class PricingOut(Struct):
    """USD per token, as decimal strings (OpenRouter convention), plus per-million figures."""

    prompt: str
    completion: str
    input_cache_read: str
    input_cache_write: str
    per_million: dict[str, str]


class TopProviderOut(Struct):
    context_length: int
    max_completion_tokens: int


class ArchitectureOut(Struct):
    input_modalities: list[str]
    output_modalities: list[str]


class ModelOut(Struct):
    id: str
    created: int
    owned_by: str
    name: str
    description: str
    context_length: int
    max_output_tokens: int
    default_max_tokens: int
    pricing: PricingOut
    top_provider: TopProviderOut
    architecture: ArchitectureOut
    capabilities: dict[str, bool]
    supported_parameters: list[str]
    reasoning: dict[str, object]
    object: Literal["model"] = "model"


class ModelListOut(Struct):
    data: list[ModelOut]
    object: Literal["list"] = "list"


def _per_token(price: Decimal) -> str:
    return format((price / MILLION).normalize(), "f")


_BASE_PARAMS = ["max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "stream_options"]


def model_out(m: ModelInfo) -> ModelOut:
    caps = m.capabilities
    params = list(_BASE_PARAMS)
    if caps.tools:
        params += ["tools", "tool_choice", "parallel_tool_calls"]
    if caps.structured_output:
        params.append("response_format")
    if caps.reasoning:
        params.append("reasoning_effort")
    if caps.penalties:
        params += ["presence_penalty", "frequency_penalty"]
    if caps.logprobs:
        params += ["logprobs", "top_logprobs"]
    inputs = ["text"] + (["image"] if caps.vision else []) + (["file"] if caps.pdf else [])
    inputs += ["audio"] if caps.audio else []
    p = m.prices
    return ModelOut(
        id=m.id,
        created=m.created,
        owned_by=m.provider,
        name=m.name,
        description=m.description,
        context_length=m.context_window,
        max_output_tokens=m.max_output_tokens,
        default_max_tokens=m.default_max_tokens,
        pricing=PricingOut(
            prompt=_per_token(p.input),
            completion=_per_token(p.output),
            input_cache_read=_per_token(p.cache_read),
            input_cache_write=_per_token(p.cache_write),
            per_million={
                "input": str(p.input),
                "output": str(p.output),
                "cache_read": str(p.cache_read),
                "cache_write": str(p.cache_write),
            },
        ),
        top_provider=TopProviderOut(context_length=m.context_window, max_completion_tokens=m.max_output_tokens),
        architecture=ArchitectureOut(input_modalities=inputs, output_modalities=["text"]),
        capabilities={
            "vision": caps.vision,
            "tools": caps.tools,
            "reasoning": caps.reasoning,
            "structured_output": caps.structured_output,
            "pdf": caps.pdf,
            "audio": caps.audio,
        },
        supported_parameters=params,
        reasoning={"style": m.reasoning.style, "can_disable": m.reasoning.can_disable},
    )


def models_json(models: list[ModelInfo]) -> bytes:
    return ENCODER.encode(ModelListOut(data=[model_out(m) for m in models]))


def model_json(model: ModelInfo) -> bytes:
    return ENCODER.encode(model_out(model))
