"""``Catalog``: the lookups the request path makes, over the snapshot in force.

The catalog holds one immutable ``Snapshot``. A lookup checks the clock against the snapshot's
``valid_until`` (a scheduled price or lifecycle date) and, past it, builds the next snapshot from the same
composition (in memory, no I/O); then it is one dict lookup. ``replace`` swaps in a new composition (the
live catalog does, when the database entries change: ``catalog.live``).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

from opentoken.catalog.compose import Composed
from opentoken.catalog.model import ModelInfo
from opentoken.catalog.snapshot import Snapshot, snapshot_at
from opentoken.core.errors import GatewayError, Loc, ModelNotFound

Clock = Callable[[], float]  # unix seconds


class Catalog:
    """``resolve`` and ``get`` are what the request path uses; ``notices`` gives a call's lifecycle headers."""

    def __init__(self, composed: Composed, clock: Clock = time.time) -> None:
        self._clock = clock
        self._snapshot = snapshot_at(composed, self._now())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot in force now (rebuilt first if a scheduled change has come due)."""
        snap = self._snapshot
        if self._clock() >= snap.valid_until:
            snap = self._snapshot = snapshot_at(snap.composed, self._now())
        return snap

    def replace(self, composed: Composed) -> None:
        self._snapshot = snapshot_at(composed, self._now())

    def __iter__(self) -> Iterator[ModelInfo]:
        """The models clients may use (enabled, priced, not retired), with their current prices."""
        return iter(self.snapshot.visible)

    def __len__(self) -> int:
        return len(self.snapshot.visible)

    def resolve(self, model_id: str, loc: Loc = ("model",)) -> ModelInfo:
        """The model that answers a request for ``model_id`` (an id or alias), with the price in force now.
        Unknown or disabled: ``ModelNotFound``; retired: the successor or ``ModelRetired`` (per policy)."""
        snap = self.snapshot
        found = snap.resolutions.get(model_id)
        if found is not None and found.model is not None:
            return found.model
        raise self._refusal(snap, model_id, loc)

    def get(self, model_id: str) -> ModelInfo | None:
        """``resolve`` without the error: None when a request for ``model_id`` would be refused."""
        found = self.snapshot.resolutions.get(model_id)
        return None if found is None else found.model

    def notices(self, model_id: str) -> Mapping[str, str]:
        """Response headers for a call that named ``model_id``: Deprecation / Sunset / successor Link, and
        which model answered in place of a retired one (see ``catalog.lifecycle``)."""
        found = self.snapshot.resolutions.get(model_id)
        return {} if found is None else found.headers

    def entry(self, model_id: str) -> ModelInfo | None:
        """The entry named ``model_id`` (id or alias) whatever its state, with the price in force now."""
        snap = self.snapshot
        target = snap.composed.names.get(model_id)
        return None if target is None else snap.models[target]

    @staticmethod
    def _refusal(snap: Snapshot, model_id: str, loc: Loc) -> GatewayError:
        found = snap.resolutions.get(model_id)
        if found is not None:
            return found.refusal(loc)
        usable = [name for name, found in snap.resolutions.items() if found.model is not None]  # ids and aliases
        close = difflib.get_close_matches(model_id, usable, n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        return ModelNotFound(
            f"The model `{model_id}` is not registered. Use an id of the form provider/model from "
            f"GET /v1/models.{hint}",
            loc=loc,
        )
