"""Load the catalog from TOML data: the packaged ``models.toml``, then the operator's file over it.

``load_base`` gives the layers the live catalog composes the database entries over (``catalog.compose``);
``load_catalog`` gives a ``Catalog`` of those files alone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from opentoken.catalog.compose import BaseCatalog, CatalogError, Source, compose
from opentoken.catalog.lifecycle import RetiredPolicy
from opentoken.catalog.lookup import Catalog
from opentoken.catalog.model import Capabilities, Lifecycle, ModelInfo, ReasoningSpec, Timeouts
from opentoken.core.money import Prices
from opentoken.stores.catalog import CatalogData

__all__ = ["Catalog", "CatalogError", "load_base", "load_catalog"]

DEFAULT_TIMEOUTS = Timeouts()


def _money(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as e:
        raise CatalogError(f"{where}: not a price: {value!r}") from e
    if amount < 0:
        raise CatalogError(f"{where}: negative price")
    return amount


def _day(value: Any, where: str) -> date | None:
    """A TOML date (or ISO ``YYYY-MM-DD`` string) -> date; absent -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise CatalogError(f"{where}: not a date (YYYY-MM-DD): {value!r}") from e


def _reasoning(raw: Any, defaults: Mapping[str, Any], where: str) -> ReasoningSpec:
    if raw is None:
        return ReasoningSpec()
    if isinstance(raw, str):
        if raw not in defaults:
            raise CatalogError(f"{where}: unknown reasoning preset {raw!r}")
        raw = defaults[raw]
    return ReasoningSpec(
        style=raw.get("style", "none"),
        budgets={str(k): int(v) for k, v in raw.get("budgets", {}).items()},
        levels={str(k): str(v) for k, v in raw.get("levels", {}).items()},
        min_budget=int(raw.get("min_budget", 0)),
        max_budget=int(raw.get("max_budget", 0)),
        can_disable=bool(raw.get("can_disable", True)),
        default_on=bool(raw.get("default_on", False)),
    )


def _model(raw: Mapping[str, Any], defaults: Mapping[str, Any], timeouts: Timeouts = DEFAULT_TIMEOUTS) -> ModelInfo:
    mid = raw.get("id")
    if not isinstance(mid, str) or mid.count("/") < 1:
        raise CatalogError(f"model id must look like provider/model: {mid!r}")
    provider = mid.split("/", 1)[0]
    p = raw.get("prices") or {}
    try:
        return ModelInfo(
            id=mid,
            provider=provider,
            upstream_model=str(raw.get("upstream_model", mid.split("/", 1)[1])),
            name=str(raw.get("name", mid)),
            created=int(raw.get("created", 0)),
            context_window=int(raw["context_window"]),
            max_output_tokens=int(raw["max_output_tokens"]),
            default_max_tokens=int(raw.get("default_max_tokens", raw["max_output_tokens"])),
            prices=Prices(
                input=_money(p["input"], f"{mid}.prices.input"),
                output=_money(p["output"], f"{mid}.prices.output"),
                cache_read=_money(p.get("cache_read", 0), f"{mid}.prices.cache_read"),
                cache_write=_money(p.get("cache_write", 0), f"{mid}.prices.cache_write"),
                cache_write_1h=_money(p["cache_write_1h"], f"{mid}.prices.cache_write_1h")
                if "cache_write_1h" in p
                else None,
            ),
            capabilities=Capabilities(**raw.get("capabilities", {})),
            reasoning=_reasoning(raw.get("reasoning"), defaults, mid),
            timeouts=Timeouts(**{**asdict(timeouts), **raw.get("timeouts", {})}),
            fallbacks=tuple(raw.get("fallbacks", ())),
            description=str(raw.get("description", "")),
            aliases=tuple(str(a) for a in raw.get("aliases", ())),
            enabled=bool(raw.get("enabled", True)),
            lifecycle=Lifecycle(
                released=_day(raw.get("released"), f"{mid}.released"),
                deprecated=_day(raw.get("deprecated"), f"{mid}.deprecated"),
                retired=_day(raw.get("retired"), f"{mid}.retired"),
                successor=str(raw["successor"]) if raw.get("successor") else None,
            ),
        )
    except (KeyError, TypeError) as e:
        raise CatalogError(f"{mid}: missing or malformed field: {e}") from e


@dataclass(slots=True)
class _Loading:
    models: dict[str, ModelInfo]
    sources: dict[str, Source]
    defaults: dict[str, Any]
    timeouts: Timeouts


def _load_doc(data: Mapping[str, Any], into: _Loading, source: Source) -> None:
    into.defaults.update(data.get("defaults", {}))
    for raw in data.get("model", []):
        model = _model(raw, into.defaults, into.timeouts)
        into.models[model.id] = model
        into.sources[model.id] = source


def load_base(extra: Path | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> BaseCatalog:
    """The packaged catalog, with ``extra`` (an operator TOML file) over it: an entry of ``extra`` replaces
    the packaged entry of the same id. ``timeouts`` are the global defaults; a model's own ``timeouts``
    table overrides them field by field."""
    text = resources.files("opentoken.catalog").joinpath("models.toml").read_text("utf-8")
    loading = _Loading({}, {}, {}, timeouts)
    _load_doc(tomllib.loads(text), loading, "packaged")
    if extra is not None:
        try:
            _load_doc(tomllib.loads(extra.read_text("utf-8")), loading, "file")
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise CatalogError(f"cannot read catalog file {extra}: {e}") from e
    presets = {
        name: _reasoning(name, loading.defaults, f"defaults.{name}")
        for name, value in loading.defaults.items()
        if isinstance(value, Mapping)
    }
    return BaseCatalog(loading.models, loading.sources, presets, timeouts)


def load_catalog(
    extra: Path | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS, retired: RetiredPolicy = "successor"
) -> Catalog:
    """A catalog of the packaged data and ``extra`` alone (``catalog.live`` adds the database entries).
    ``retired`` is what a call to a retired model gets (see ``catalog.lifecycle``)."""
    return Catalog(compose(load_base(extra, timeouts), CatalogData(), retired))
