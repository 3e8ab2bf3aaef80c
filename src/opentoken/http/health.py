"""``GET /readyz``: may a load balancer send this replica traffic?

Ready (200) when every probe passes within ``timeout`` seconds: the database answers, its schema is at this
release's revision, and Redis answers when one is configured. Not ready (503) when one fails, and from the
moment the process receives SIGTERM (``draining``), while it keeps serving for
``OPENTOKEN_SHUTDOWN_DELAY_SECONDS`` so the balancer's health check sees it leave before the listener
closes. The body names each check's result; it never holds a URL or a secret. ``GET /healthz`` (the process
is alive) is in ``opentoken.http.routes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.stores.health import NotReady, Probe


@dataclass(slots=True)
class Readiness:
    probes: Sequence[tuple[str, Probe]]
    timeout: float = 2.0
    draining: bool = False

    async def check(self) -> tuple[bool, dict[str, str]]:
        results = await asyncio.gather(*(self._run(probe) for _, probe in self.probes))
        checks = {name: result for (name, _), result in zip(self.probes, results, strict=True)}
        if self.draining:
            checks["shutdown"] = "draining"
        return all(r == "ok" for r in checks.values()), checks

    async def _run(self, probe: Probe) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await probe()
        except NotReady as e:
            return str(e)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        return "ok"


def health_routes(readiness: Readiness) -> list[BaseRoute]:
    async def readyz(request: Request) -> Response:
        ready, checks = await readiness.check()
        body = orjson.dumps({"status": "ready" if ready else "not_ready", "checks": checks})
        return Response(body, status_code=200 if ready else 503, media_type="application/json")

    return [Route("/readyz", readyz, methods=["GET"])]
