"""Typed catalog entries. The entries themselves are data (``models.toml``), never code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from opentoken.core.money import Prices

ReasoningStyle = Literal["none", "budget", "level", "adaptive"]
ModelKind = Literal["chat", "embedding"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    vision: bool = False
    tools: bool = True
    reasoning: bool = False
    structured_output: bool = False
    pdf: bool = False
    audio: bool = False
    penalties: bool = False  # presence/frequency penalty accepted upstream
    logprobs: bool = False
    web_search: bool = False  # the provider's built-in web search (``ChatRequest.web_search``) works here


@dataclass(frozen=True, slots=True)
class ReasoningSpec:
    """How ``reasoning_effort`` maps onto the model's thinking controls.

    - ``budget``: a token budget; ``budgets`` maps effort -> tokens (0 = off, allowed only if ``can_disable``),
      clamped to [min_budget, max_budget].
    - ``level``: a thinking level; ``levels`` maps effort -> level name accepted by the model.
    - ``adaptive``: the model decides; ``levels`` maps effort -> the provider's effort value.
    - ``none``: the model has no reasoning control; ``reasoning_effort`` other than none is a 400.
    """

    style: ReasoningStyle = "none"
    budgets: dict[str, int] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    min_budget: int = 0
    max_budget: int = 0
    can_disable: bool = True
    default_on: bool = False  # the model thinks even when the client asks nothing


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``first_token`` bounds the wait for response headers / first stream event."""

    connect: float = 10.0
    first_token: float = 120.0
    idle: float = 120.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Dates (UTC days) in a model's life. From ``deprecated`` on, calls carry ``Deprecation`` / ``Sunset``
    headers; from ``retired`` on, the operator's retirement policy applies; ``successor`` is the public id of
    the model that replaces it."""

    released: date | None = None
    deprecated: date | None = None
    retired: date | None = None
    successor: str | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str  # public id "{provider}/{model}"
    provider: str
    upstream_model: str
    name: str
    created: int  # unix seconds
    context_window: int
    max_output_tokens: int
    default_max_tokens: int
    prices: Prices
    capabilities: Capabilities = Capabilities()
    reasoning: ReasoningSpec = ReasoningSpec()
    timeouts: Timeouts = Timeouts()
    fallbacks: tuple[str, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()  # other ids that resolve to this entry (provider-native names, operator maps)
    enabled: bool = True  # a disabled model answers model_not_found
    lifecycle: Lifecycle = Lifecycle()
    kind: ModelKind = "chat"  # chat (chat, Responses and Messages APIs) or embedding (the embeddings API)
    embedding_dimensions: int = 0  # an embedding model's full vector size
