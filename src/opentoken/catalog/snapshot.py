"""The catalog in force at one instant: every name resolved in advance, so a request costs one dict lookup.

A ``Snapshot`` holds each model with the price in force at its instant, and for every id and alias what a
request naming it gets (``Resolution``): the model that answers (the entry itself, or its successor when
the entry is retired and the policy routes to successors) with the response headers that go with it, or the
error to raise. ``valid_until`` is the next instant at which a scheduled price or a lifecycle date changes
any of that; the ``Catalog`` builds a new snapshot from the same composition then, with no database read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from opentoken.catalog.compose import Composed, ComposedEntry
from opentoken.catalog.lifecycle import (
    RETIRED_MODEL_HEADER,
    SUCCESSOR_MODEL_HEADER,
    State,
    boundaries,
    is_deprecated,
    is_retired,
    lifecycle_headers,
)
from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import GatewayError, Loc, ModelNotFound, ModelRetired

MAX_SUCCESSOR_HOPS = 8


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a request naming a model gets: ``model`` answers it (with ``headers`` on the response), or,
    when ``model`` is None, ``error`` is raised with ``message`` (and ``headers``)."""

    model: ModelInfo | None
    headers: Mapping[str, str]
    error: type[GatewayError] = ModelNotFound
    message: str = ""

    def refusal(self, loc: Loc) -> GatewayError:
        return self.error(self.message, loc=loc, headers=self.headers)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: datetime
    valid_until: float  # unix seconds; math.inf when nothing is scheduled
    composed: Composed
    models: Mapping[str, ModelInfo]  # every entry by id, with the price in force (NO_PRICE when it has none)
    states: Mapping[str, State]
    resolutions: Mapping[str, Resolution]  # every id and alias
    visible: tuple[ModelInfo, ...]  # what GET /v1/models lists: enabled, priced, not retired


def _state(entry: ComposedEntry, priced: bool, now: datetime) -> State:
    lifecycle = entry.model.lifecycle
    if not entry.model.enabled:
        return "disabled"
    if not priced:
        return "unpriced"
    if is_retired(lifecycle, now):
        return "retired"
    return "deprecated" if is_deprecated(lifecycle, now) else "active"


def _successor(
    model: ModelInfo, composed: Composed, models: Mapping[str, ModelInfo], states: Mapping[str, State]
) -> ModelInfo | None:
    """The first servable model down the successor chain of a retired ``model``."""
    seen = {model.id}
    current = model
    for _ in range(MAX_SUCCESSOR_HOPS):
        name = current.lifecycle.successor
        target = composed.names.get(name) if name else None
        if target is None or target in seen:
            return None
        seen.add(target)
        current = models[target]
        if states[target] in ("active", "deprecated"):
            return current
        if states[target] != "retired":
            return None
    return None


def _resolution(
    model: ModelInfo, composed: Composed, models: Mapping[str, ModelInfo], states: Mapping[str, State]
) -> Resolution:
    state = states[model.id]
    headers = lifecycle_headers(model.lifecycle)
    if state in ("active", "deprecated"):
        return Resolution(model, headers)
    if state == "disabled":
        return Resolution(None, {}, ModelNotFound, f"The model `{model.id}` is disabled on this gateway.")
    if state == "unpriced":
        return Resolution(None, {}, ModelNotFound, f"The model `{model.id}` has no price yet on this gateway.")
    retired = model.lifecycle.retired
    successor = _successor(model, composed, models, states) if composed.retired == "successor" else None
    if successor is not None:
        headers |= {RETIRED_MODEL_HEADER: model.id, SUCCESSOR_MODEL_HEADER: successor.id}
        return Resolution(successor, headers)
    named = model.lifecycle.successor
    if named and composed.retired == "successor":
        advice = f" Its successor `{named}` is not available either."
    else:
        advice = f" Use `{named}` instead." if named else ""
    message = f"The model `{model.id}` was retired on {retired}.{advice}"
    return Resolution(None, headers, ModelRetired, message)


def snapshot_at(composed: Composed, now: datetime) -> Snapshot:
    models: dict[str, ModelInfo] = {}
    states: dict[str, State] = {}
    changes: list[datetime] = []
    for model_id, entry in composed.entries.items():
        prices = entry.price_at(now)
        model = entry.model if prices is None or prices == entry.model.prices else replace(entry.model, prices=prices)
        models[model_id] = model
        states[model_id] = _state(entry, prices is not None, now)
        changes += entry.changes_after(now)
        changes += (b for b in boundaries(model.lifecycle) if b > now)
    by_id = {model_id: _resolution(m, composed, models, states) for model_id, m in models.items()}
    resolutions = {name: by_id[model_id] for name, model_id in composed.names.items()}
    visible = tuple(m for m in models.values() if states[m.id] in ("active", "deprecated"))
    valid_until = min(changes).timestamp() if changes else math.inf
    return Snapshot(now, valid_until, composed, models, states, resolutions, visible)
