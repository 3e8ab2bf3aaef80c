"""The operator's view of what serves the models: deployments and their health, and the catalog as the
operator's overrides made it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from opentoken.routing.pool import STATS_WINDOW_SECONDS
from opentoken.web.console import Console, today
from opentoken.web.models import stage
from opentoken.web.session import Viewer


@dataclass(frozen=True, slots=True)
class DeploymentRow:
    name: str
    provider: str
    base_url: str
    weight: float
    models: tuple[str, ...]
    in_flight: int
    cooling: bool
    failing: bool
    attempts: int
    failures: int

    @property
    def error_rate(self) -> float | None:
        return None if not self.attempts else self.failures / self.attempts


async def deployments(console: Console, request: Request, viewer: Viewer) -> Response:
    router = console.pipeline.router
    pool = router.pool
    found = pool.all()
    health = await router.cooldowns.health([d.name for d in found])
    rows = []
    for d in found:
        attempts, failures = pool.stats.recent(d.name)
        rows.append(
            DeploymentRow(
                d.name,
                d.provider.name,
                d.base_url,
                d.weight,
                d.models,
                pool.busy(d),
                d.name in health.cooling,
                d.name in health.failing,
                attempts,
                failures,
            )
        )
    context = {"rows": rows, "window_minutes": STATS_WINDOW_SECONDS // 60}
    return console.page(request, "console/deployments.html", context, viewer=viewer)


async def catalog(console: Console, request: Request, viewer: Viewer) -> Response:
    snapshot = console.catalog.snapshot
    day = today()
    rows = [
        (m, snapshot.states.get(m.id, "active"), stage(m, day))
        for m in sorted(snapshot.models.values(), key=lambda m: m.id)
    ]
    return console.page(request, "console/catalog.html", {"rows": rows}, viewer=viewer)
