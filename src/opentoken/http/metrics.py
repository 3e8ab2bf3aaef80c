"""``GET /metrics``: Prometheus text format. When an admin key is configured, scrapes must present it."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.core.errors import AuthenticationFailed
from opentoken.metering.metrics import Metrics


def metrics_routes(metrics: Metrics, admin_key: str | None) -> list[BaseRoute]:
    async def scrape(request: Request) -> Response:
        if admin_key:
            scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), admin_key.encode()):
                raise AuthenticationFailed("GET /metrics needs 'Authorization: Bearer <OPENTOKEN_ADMIN_KEY>'.")
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", scrape, methods=["GET"])]
