"""``GET /metrics``: Prometheus text format, on the main port or on a port of its own.

Scrapes must present ``Authorization: Bearer <token>`` when a token is configured: ``OPENTOKEN_METRICS_TOKEN``,
or else ``OPENTOKEN_ADMIN_KEY``. With ``OPENTOKEN_METRICS_PORT`` set, ``/metrics`` leaves the main port and
is served on ``OPENTOKEN_METRICS_HOST:OPENTOKEN_METRICS_PORT`` instead (the same token rule applies), so it
can be bound to an interface only the monitoring network reaches.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.core.errors import AuthenticationFailed
from opentoken.metering.metrics import Metrics

if TYPE_CHECKING:
    from aiohttp import web

_DENIED = "GET /metrics needs 'Authorization: Bearer <OPENTOKEN_METRICS_TOKEN or OPENTOKEN_ADMIN_KEY>'."


def authorized(authorization: str | None, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = (authorization or "").strip().partition(" ")  # the scheme is case-insensitive (RFC 9110)
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_routes(metrics: Metrics, token: str | None) -> list[BaseRoute]:
    async def scrape(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), token):
            raise AuthenticationFailed(_DENIED)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", scrape, methods=["GET"])]


async def serve_metrics(metrics: Metrics, token: str | None, host: str, port: int) -> Callable[[], Awaitable[None]]:
    """Serve ``GET /metrics`` on ``host:port`` until the returned function is awaited. aiohttp's server is
    imported here, only when a separate metrics port is configured (about 2 MB resident otherwise)."""
    from aiohttp import web

    async def scrape(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            error = {"message": _DENIED, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
            body = orjson.dumps({"error": error})
            return web.Response(status=401, body=body, content_type="application/json")
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner.cleanup
