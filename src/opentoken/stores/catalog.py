"""The operator's catalog entries and price history, stored over the packaged catalog.

An entry (``ModelSpec``) holds only what the operator set for one model id: a field left unset keeps the
value of the packaged catalog (or of the ``OPENTOKEN_CATALOG_FILE`` override); a new model sets what a new
model needs. Prices are not part of an entry: each price is a ``PriceRecord`` with the instant it takes
effect, appended and never rewritten (a price scheduled for later may be cancelled before it takes effect,
never after). ``opentoken.catalog`` composes these over the packaged data.

One implementation per backend: ``stores.memory.catalog`` and ``stores.sql.catalog``; one test suite runs
on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal, Protocol

from msgspec import UNSET, Meta, Struct, UnsetType

from opentoken.core.errors import InvalidRequest
from opentoken.core.money import Prices

ModelId = Annotated[str, Meta(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+/[A-Za-z0-9._:@/-]+$")]
Alias = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@/-]+$")]
Text = Annotated[str, Meta(max_length=2000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Tokens = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Seconds = Annotated[float, Meta(gt=0, le=86_400)]
Budget = Annotated[int, Meta(ge=0, le=2**31 - 1)]
Effort = Annotated[str, Meta(min_length=1, max_length=32)]


class CapabilitiesSpec(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Capability flags to change; the ones left out keep their value (``catalog.model.Capabilities``)."""

    vision: bool | UnsetType = UNSET
    tools: bool | UnsetType = UNSET
    reasoning: bool | UnsetType = UNSET
    structured_output: bool | UnsetType = UNSET
    pdf: bool | UnsetType = UNSET
    audio: bool | UnsetType = UNSET
    penalties: bool | UnsetType = UNSET
    logprobs: bool | UnsetType = UNSET


class ReasoningOverride(Struct, forbid_unknown_fields=True):
    """A whole reasoning spec (see ``catalog.model.ReasoningSpec``); replaces the inherited one."""

    style: Literal["none", "budget", "level", "adaptive"]
    budgets: Annotated[dict[Effort, Budget], Meta(max_length=16)] = {}
    levels: Annotated[dict[Effort, Effort], Meta(max_length=16)] = {}
    min_budget: Budget = 0
    max_budget: Budget = 0
    can_disable: bool = True
    default_on: bool = False


class TimeoutsSpec(Struct, forbid_unknown_fields=True, omit_defaults=True):
    connect: Seconds | UnsetType = UNSET
    first_token: Seconds | UnsetType = UNSET
    idle: Seconds | UnsetType = UNSET
    total: Seconds | UnsetType = UNSET


class ModelSpec(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the operator set for one model. Unset: inherited. ``None`` (lifecycle fields and
    ``description`` only): set to nothing, e.g. ``retired: null`` keeps a model the packaged catalog retires.
    ``reasoning`` is a preset name of the packaged catalog (``anthropic_budget``) or a whole spec."""

    upstream_model: Name | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    description: Text | UnsetType | None = UNSET
    created: Annotated[int, Meta(ge=0)] | UnsetType = UNSET
    context_window: Tokens | UnsetType = UNSET
    max_output_tokens: Tokens | UnsetType = UNSET
    default_max_tokens: Tokens | UnsetType = UNSET
    capabilities: CapabilitiesSpec | UnsetType = UNSET
    reasoning: Name | ReasoningOverride | UnsetType = UNSET
    timeouts: TimeoutsSpec | UnsetType = UNSET
    aliases: Annotated[list[Alias], Meta(max_length=50)] | UnsetType = UNSET
    fallbacks: Annotated[list[ModelId], Meta(max_length=20)] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    released: date | UnsetType | None = UNSET
    deprecated: date | UnsetType | None = UNSET
    retired: date | UnsetType | None = UNSET
    successor: ModelId | UnsetType | None = UNSET


SPEC_FIELDS: tuple[str, ...] = ModelSpec.__struct_fields__


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    model_id: str
    spec: ModelSpec
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """A price of ``model_id`` (USD per million tokens) in force from ``effective_from`` until the next one."""

    model_id: str
    effective_from: datetime
    prices: Prices
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CatalogData:
    """Everything the stores hold for the catalog, read together."""

    entries: tuple[CatalogEntry, ...] = ()
    prices: tuple[PriceRecord, ...] = ()  # ordered by model id, then effective_from


class DuplicatePrice(InvalidRequest):
    """A price for this model already takes effect at exactly that instant (history is never rewritten)."""

    code = "duplicate_price"


SpecChange = Callable[[ModelSpec | None], ModelSpec]


class CatalogStore(Protocol):
    async def load(self) -> CatalogData:
        """Every entry and price record (the live catalog reads this on each refresh)."""
        ...

    async def get_entry(self, model_id: str) -> CatalogEntry | None: ...

    async def update_entry(self, model_id: str, change: SpecChange, at: datetime) -> CatalogEntry:
        """Atomically replace the entry with ``change(current spec or None)``; ``change`` may raise to refuse
        (nothing is written then). Concurrent updates of one id are serialised."""
        ...

    async def prices(self, model_id: str) -> list[PriceRecord]:
        """The price history of one model, oldest first."""
        ...

    async def add_price(self, record: PriceRecord) -> None:
        """Append a price; ``DuplicatePrice`` if one already takes effect at that exact instant."""
        ...

    async def cancel_price(self, model_id: str, effective_from: datetime, now: datetime) -> bool:
        """Remove a scheduled price that has not taken effect by ``now``; False if there is no such price
        (never removes a price once in force)."""
        ...
