"""Compose the catalog: the packaged file, then ``OPENTOKEN_CATALOG_FILE``, then the database entries.

The result (``Composed``) does not depend on the time: each entry keeps its whole price timeline and its
lifecycle dates; ``catalog.snapshot`` turns it into what is in force at one instant.

- A database entry for an id of the files changes the fields it sets (``stores.catalog.ModelSpec``); an
  entry for a new id is a new model and must set ``context_window`` and ``max_output_tokens``.
- Prices: the files' price of a model is in force from the beginning; each database price from its
  ``effective_from`` until the next. A model only the database knows has no price before its first one,
  and is not served until it has one.
- Names: every id, then every alias, resolves to one entry; an alias that names another entry's id or an
  alias already taken is refused (at start-up for the files; the database entry is skipped with a log line
  at run time, and refused by the admin API before it is stored).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from msgspec import UNSET

from opentoken.catalog.lifecycle import RetiredPolicy
from opentoken.catalog.model import Capabilities, Lifecycle, ModelInfo, ReasoningSpec, Timeouts
from opentoken.core.money import Prices
from opentoken.stores.catalog import CatalogData, ModelSpec, PriceRecord, ReasoningOverride

log = logging.getLogger(__name__)
Source = Literal["packaged", "file", "database"]
NO_PRICE = Prices(input=Decimal(0), output=Decimal(0))  # a placeholder: such a model is never served


class CatalogError(ValueError):
    """The catalog data is malformed (raised at start-up, never on a request)."""


class SpecError(CatalogError):
    """A database entry cannot be applied; ``field`` names the ModelSpec field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class BaseCatalog:
    """The files' layers: models by id (the file's entry replaces the packaged one), where each comes from,
    the reasoning presets (``[defaults.NAME]``) and the global timeouts new models start from."""

    models: Mapping[str, ModelInfo]
    sources: Mapping[str, Source]
    presets: Mapping[str, ReasoningSpec]
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price in force from ``effective_from`` (None: from the beginning, the files' price)."""

    effective_from: datetime | None
    prices: Prices
    source: Source
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ComposedEntry:
    model: ModelInfo  # with the files' price, or NO_PRICE for a model only the database knows
    timeline: tuple[PricePoint, ...]  # oldest first
    source: Source  # where the model comes from: a file, or the database alone
    overridden: tuple[str, ...] = ()  # the ModelSpec fields set in the database

    def price_at(self, now: datetime) -> Prices | None:
        found: Prices | None = None
        for point in self.timeline:
            if point.effective_from is None or point.effective_from <= now:
                found = point.prices
            else:
                break
        return found

    def changes_after(self, now: datetime) -> Iterable[datetime]:
        return (p.effective_from for p in self.timeline if p.effective_from is not None and p.effective_from > now)


@dataclass(frozen=True, slots=True)
class Composed:
    entries: Mapping[str, ComposedEntry]  # by id, in catalog order
    names: Mapping[str, str]  # every id and alias -> id
    retired: RetiredPolicy
    base: BaseCatalog
    problems: tuple[str, ...] = field(default=())  # database entries or aliases left out (logged)


def _reasoning(value: str | ReasoningOverride, presets: Mapping[str, ReasoningSpec]) -> ReasoningSpec:
    if isinstance(value, str):
        preset = presets.get(value)
        if preset is None:
            raise SpecError(f"unknown reasoning preset {value!r} (one of {', '.join(sorted(presets))})", "reasoning")
        return preset
    return ReasoningSpec(
        style=value.style,
        budgets=dict(value.budgets),
        levels=dict(value.levels),
        min_budget=value.min_budget,
        max_budget=value.max_budget,
        can_disable=value.can_disable,
        default_on=value.default_on,
    )


def _set(struct: object, names: Iterable[str]) -> dict[str, Any]:
    return {n: v for n in names if (v := getattr(struct, n)) is not UNSET}


def apply_spec(model: ModelInfo, spec: ModelSpec, presets: Mapping[str, ReasoningSpec]) -> ModelInfo:
    """``model`` with the fields ``spec`` sets."""
    given = _set(spec, ModelSpec.__struct_fields__)
    changes: dict[str, object] = {}
    for name in ("upstream_model", "name", "created", "context_window", "max_output_tokens", "default_max_tokens"):
        if name in given:
            changes[name] = given[name]
    if "description" in given:
        changes["description"] = spec.description or ""
    if spec.capabilities is not UNSET:
        changes["capabilities"] = replace(
            model.capabilities, **_set(spec.capabilities, spec.capabilities.__struct_fields__)
        )
    if spec.reasoning is not UNSET:
        changes["reasoning"] = _reasoning(spec.reasoning, presets)
    if spec.timeouts is not UNSET:
        changes["timeouts"] = replace(model.timeouts, **_set(spec.timeouts, spec.timeouts.__struct_fields__))
    if spec.aliases is not UNSET:
        changes["aliases"] = tuple(dict.fromkeys(spec.aliases))
    if spec.fallbacks is not UNSET:
        changes["fallbacks"] = tuple(dict.fromkeys(spec.fallbacks))
    if spec.enabled is not UNSET:
        changes["enabled"] = spec.enabled
    dates = {n: given[n] for n in ("released", "deprecated", "retired", "successor") if n in given}
    if dates:
        changes["lifecycle"] = replace(model.lifecycle, **dates)
    out = replace(model, **changes)  # type: ignore[arg-type]
    _check(out)
    return out


def new_model(model_id: str, spec: ModelSpec, base: BaseCatalog) -> ModelInfo:
    """A model the files do not have, from its database entry alone."""
    for required in ("context_window", "max_output_tokens"):
        if getattr(spec, required) is UNSET:
            raise SpecError(f"a new model needs {required}", required)
    provider, _, rest = model_id.partition("/")
    seed = ModelInfo(
        id=model_id,
        provider=provider,
        upstream_model=rest,
        name=model_id,
        created=0,
        context_window=1,
        max_output_tokens=1,
        default_max_tokens=1,
        prices=NO_PRICE,
        capabilities=Capabilities(),
        timeouts=base.timeouts,
        lifecycle=Lifecycle(),
    )
    if spec.default_max_tokens is UNSET:
        assert isinstance(spec.max_output_tokens, int)
        seed = replace(seed, default_max_tokens=spec.max_output_tokens)
    return apply_spec(seed, spec, base.presets)


def _check(model: ModelInfo) -> None:
    if model.default_max_tokens > model.max_output_tokens:
        raise SpecError(
            f"default_max_tokens ({model.default_max_tokens}) exceeds max_output_tokens ({model.max_output_tokens})",
            "default_max_tokens",
        )
    if model.lifecycle.successor == model.id:
        raise SpecError("a model cannot be its own successor", "successor")
    if model.id in model.fallbacks:
        raise SpecError("a model cannot be its own fallback", "fallbacks")


def compose_entry(
    model_id: str, spec: ModelSpec | None, base: BaseCatalog, prices: Iterable[PriceRecord] = ()
) -> ComposedEntry:
    """One entry of the catalog: the files' model (if any) with ``spec`` over it, and its price timeline."""
    known = base.models.get(model_id)
    if known is None and spec is None:
        raise SpecError(f"no model {model_id!r}")
    source: Source
    if known is None:
        assert spec is not None
        model, source = new_model(model_id, spec, base), "database"
    else:
        model = known if spec is None else apply_spec(known, spec, base.presets)
        source = base.sources.get(model_id, "packaged")
    timeline = [] if known is None else [PricePoint(None, known.prices, source)]
    ordered = sorted(prices, key=lambda p: p.effective_from)
    timeline += [PricePoint(p.effective_from, p.prices, "database", p.created_at) for p in ordered]
    overridden = () if spec is None else tuple(_set(spec, ModelSpec.__struct_fields__))
    return ComposedEntry(model, tuple(timeline), source, overridden)


def _names(entries: Mapping[str, ComposedEntry], strict_ids: set[str], problems: list[str]) -> dict[str, str]:
    names = {model_id: model_id for model_id in entries}
    for model_id, entry in entries.items():
        for alias in entry.model.aliases:
            owner = names.get(alias)
            if owner is None:
                names[alias] = model_id
            elif owner != model_id:
                problem = f"alias {alias!r} of {model_id} is already a name of {owner}; ignored"
                if model_id in strict_ids:
                    raise CatalogError(problem)
                problems.append(problem)
    return names


def compose(
    base: BaseCatalog, data: CatalogData, retired: RetiredPolicy, providers: frozenset[str] | None = None
) -> Composed:
    """The catalog from the files and the database. A database entry that cannot be applied (or names a
    provider not in ``providers``) is left out and reported in ``problems``; a problem in the files raises."""
    problems: list[str] = []
    specs = {e.model_id: e.spec for e in data.entries}
    prices: dict[str, list[PriceRecord]] = {}
    for record in data.prices:
        prices.setdefault(record.model_id, []).append(record)
    entries: dict[str, ComposedEntry] = {}
    for model_id in [*base.models, *(i for i in specs if i not in base.models)]:
        entry: ComposedEntry | None
        try:
            entry = compose_entry(model_id, specs.get(model_id), base, prices.get(model_id, ()))
        except SpecError as e:
            if model_id not in specs:
                raise
            problems.append(f"database entry {model_id} left out: {e}")
            entry = compose_entry(model_id, None, base, prices.get(model_id, ())) if model_id in base.models else None
        if entry is None:
            continue
        if providers is not None and entry.model.provider not in providers:
            problems.append(f"{model_id}: unknown provider {entry.model.provider!r}; left out")
            continue
        entries[model_id] = entry
    strict = {i for i in base.models if i not in specs}
    names = _names(entries, strict, problems)
    for problem in problems:
        log.error("catalog: %s", problem)
    return Composed(entries, names, retired, base, tuple(problems))
