"""Which deployments serve a model, in what order to try them, and how busy each one is.

A model is served by the configured deployments (``[[deployments]]`` / ``OPENTOKEN_DEPLOYMENTS``) of its
provider whose ``models`` patterns match its id; when none match, by the provider's default deployment (its
usual key and base URL variables, or the built-in sandbox). The order of attempts is a weighted random
permutation in which each deployment counts ``weight / (1 + in-flight calls)``: traffic follows the weights,
and a deployment that is busier than its share gets less of it.
"""

from __future__ import annotations

import fnmatch
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import ModelNotFound
from opentoken.upstream.client import Deployment

STATS_WINDOW_SECONDS = 300  # the "recent" in a deployment's recent error rate
_BUCKET_SECONDS = 10


@dataclass(slots=True)
class DeploymentStats:
    """Attempts and failed attempts per deployment over the last ``STATS_WINDOW_SECONDS``, in this process
    (10-second buckets; the console's deployments page shows them)."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, dict[int, list[int]]] = field(default_factory=dict)

    def record(self, name: str, ok: bool) -> None:
        now = int(self.clock() // _BUCKET_SECONDS)
        buckets = self._buckets.setdefault(name, {})
        bucket = buckets.get(now)
        if bucket is None:
            bucket = buckets[now] = [0, 0]
            for old in [b for b in buckets if b <= now - STATS_WINDOW_SECONDS // _BUCKET_SECONDS]:
                del buckets[old]
        bucket[0] += 1
        bucket[1] += 0 if ok else 1

    def recent(self, name: str) -> tuple[int, int]:
        """(attempts, failed attempts) of ``name`` over the window."""
        first = int(self.clock() // _BUCKET_SECONDS) - STATS_WINDOW_SECONDS // _BUCKET_SECONDS
        live = [b for t, b in self._buckets.get(name, {}).items() if t > first]
        return sum(b[0] for b in live), sum(b[1] for b in live)


@dataclass(slots=True)
class Lease:
    """One in-flight call on a deployment; ``release`` when the call is over (idempotent)."""

    pool: DeploymentPool
    deployment: Deployment
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.pool.done(self.deployment)


class DeploymentPool:
    def __init__(
        self,
        defaults: Mapping[str, Deployment],
        configured: Iterable[Deployment] = (),
        rng: random.Random | None = None,
    ) -> None:
        self._defaults = dict(defaults)  # provider name -> its default deployment
        self._configured = list(configured)
        self._busy: dict[str, int] = {d.name: 0 for d in (*self._defaults.values(), *self._configured)}
        self._rng = rng or random.Random()
        self.stats = DeploymentStats()

    def all(self) -> list[Deployment]:
        """Every deployment: the providers' defaults, then the configured ones."""
        return [*self._defaults.values(), *self._configured]

    def defaults(self) -> list[Deployment]:
        """Each provider's default deployment (its usual key and base URL, or the sandbox)."""
        return list(self._defaults.values())

    def serving(self, model: ModelInfo) -> list[Deployment]:
        found = [
            d
            for d in self._configured
            if d.provider.name == model.provider
            and (not d.models or any(fnmatch.fnmatchcase(model.id, p) for p in d.models))
        ]
        if found:
            return found
        default = self._defaults.get(model.provider)
        if default is None:
            raise ModelNotFound(f"No deployment serves the provider of `{model.id}`.", loc=("model",))
        return [default]

    def busy(self, deployment: Deployment) -> int:
        return self._busy.get(deployment.name, 0)

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """A weighted random permutation; busier deployments move back (weight / (1 + in flight))."""
        if len(deployments) < 2:
            return list(deployments)
        keyed = []
        for d in deployments:
            share = d.weight / (1 + self.busy(d))
            keyed.append((self._rng.random() ** (1 / share), d.name, d))
        keyed.sort(key=lambda k: (k[0], k[1]), reverse=True)
        return [d for _, _, d in keyed]

    def acquire(self, deployment: Deployment) -> Lease:
        self._busy[deployment.name] = self.busy(deployment) + 1
        return Lease(self, deployment)

    def done(self, deployment: Deployment) -> None:
        self._busy[deployment.name] = max(0, self.busy(deployment) - 1)
