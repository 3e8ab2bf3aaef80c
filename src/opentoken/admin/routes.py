"""The admin API under ``/admin/v1`` (described in docs/admin-api.md).

Every route requires ``Authorization: Bearer <OPENTOKEN_ADMIN_KEY>`` (compared in constant time). Without a
configured admin key the API is disabled and answers 403 ``admin_disabled``. Failures are raised as
``GatewayError`` and rendered by the application's one error boundary (``opentoken.http.errors``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.admin.catalog_routes import catalog_routes
from opentoken.admin.schema import (
    KeyCreate,
    KeyList,
    KeyUpdate,
    RequestList,
    decode,
    encode,
    group_param,
    key_out,
    request_out,
    time_param,
    usage_out,
)
from opentoken.admin.service import AdminServices
from opentoken.core.errors import AuthenticationFailed, InvalidRequest, PermissionDenied
from opentoken.stores.base import UsageQuery

__all__ = ["PREFIX", "AdminServices", "admin_routes"]

PREFIX = "/admin/v1"
MAX_REQUESTS_LIMIT = 1000
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _authorize(request: Request, admin_key: str | None) -> None:
    if not admin_key:
        raise PermissionDenied(
            "The admin API is disabled: set OPENTOKEN_ADMIN_KEY on the gateway to enable it.", code="admin_disabled"
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "Missing admin key: send 'Authorization: Bearer <OPENTOKEN_ADMIN_KEY>'.", code="missing_api_key"
        )
    if not hmac.compare_digest(token.strip().encode(), admin_key.encode()):
        raise AuthenticationFailed("Incorrect admin key.")


def _query_str(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REQUESTS_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_REQUESTS_LIMIT}, got {raw!r}", param="limit")
    return int(raw)


def admin_routes(services: AdminServices) -> list[BaseRoute]:
    def guarded(endpoint: Endpoint) -> Endpoint:
        async def run(request: Request) -> Response:
            _authorize(request, services.admin_key)
            return await endpoint(request)

        return run

    async def create_key(request: Request) -> Response:
        key, secret = await services.create_key(decode(await request.body(), KeyCreate))
        out = key_out(key)
        out.key = secret
        return _json(encode(out), 201)

    async def list_keys(request: Request) -> Response:
        return _json(encode(KeyList(data=[key_out(k) for k in await services.list_keys()])))

    async def get_key(request: Request) -> Response:
        return _json(encode(await services.key_detail(request.path_params["key_id"])))

    async def update_key(request: Request) -> Response:
        changes = decode(await request.body(), KeyUpdate).changes()
        key = await services.update_key(request.path_params["key_id"], changes)
        return _json(encode(key_out(key)))

    async def revoke_key(request: Request) -> Response:
        return _json(encode(key_out(await services.revoke_key(request.path_params["key_id"]))))

    async def rotate_key(request: Request) -> Response:
        key, secret = await services.rotate_key(request.path_params["key_id"])
        out = key_out(key)
        out.key = secret
        return _json(encode(out))

    async def usage(request: Request) -> Response:
        since, until = _query_str(request, "since"), _query_str(request, "until")
        group_by = group_param(request.query_params.getlist("group_by"))
        query = UsageQuery(
            key_id=_query_str(request, "key_id"),
            model=_query_str(request, "model"),
            provider=_query_str(request, "provider"),
            since=None if since is None else time_param(since, "since"),
            until=None if until is None else time_param(until, "until"),
            group_by=group_by,
        )
        return _json(encode(usage_out(await services.usage(query), group_by)))

    async def requests(request: Request) -> Response:
        records = await services.recent(_limit(request), _query_str(request, "key_id"))
        return _json(encode(RequestList(data=[request_out(r) for r in records])))

    catalog = [] if services.catalog is None else catalog_routes(PREFIX, services.catalog, guarded)
    return [
        *catalog,
        Route(f"{PREFIX}/keys", guarded(create_key), methods=["POST"]),
        Route(f"{PREFIX}/keys", guarded(list_keys), methods=["GET"]),
        Route(f"{PREFIX}/keys/{{key_id}}", guarded(get_key), methods=["GET"]),
        Route(f"{PREFIX}/keys/{{key_id}}", guarded(update_key), methods=["PATCH"]),
        Route(f"{PREFIX}/keys/{{key_id}}/revoke", guarded(revoke_key), methods=["POST"]),
        Route(f"{PREFIX}/keys/{{key_id}}/rotate", guarded(rotate_key), methods=["POST"]),
        Route(f"{PREFIX}/usage", guarded(usage), methods=["GET"]),
        Route(f"{PREFIX}/requests", guarded(requests), methods=["GET"]),
    ]
