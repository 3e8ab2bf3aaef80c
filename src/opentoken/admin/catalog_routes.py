"""The catalog part of the admin API under ``/admin/v1`` (described in docs/catalog.md).

Model ids contain a ``/`` and are used as they are in paths: ``/admin/v1/models/anthropic/claude-opus-4-6``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from opentoken.admin.catalog_schema import (
    CatalogModelList,
    ModelChange,
    ModelCreate,
    PriceCreate,
    SyncApply,
    catalog_model_out,
    history_out,
    sync_out,
)
from opentoken.admin.catalog_service import CatalogAdmin
from opentoken.admin.schema import decode, encode, time_param
from opentoken.catalog.compose import ComposedEntry
from opentoken.core.errors import InvalidRequest

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Endpoint], Endpoint]


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def catalog_routes(prefix: str, catalog: CatalogAdmin, guarded: Guard) -> list[BaseRoute]:
    async def detail(entry: ComposedEntry, status: int = 200) -> Response:
        return _json(encode(catalog_model_out(entry, await catalog.view(), history=True)), status)

    async def list_models(request: Request) -> Response:
        snap = await catalog.view()
        data = [catalog_model_out(e, snap) for e in snap.composed.entries.values()]
        return _json(encode(CatalogModelList(data=data)))

    async def create_model(request: Request) -> Response:
        return await detail(await catalog.create(decode(await request.body(), ModelCreate)), 201)

    async def get_model(request: Request) -> Response:
        snap, entry = await catalog.entry(request.path_params["model_id"])
        return _json(encode(catalog_model_out(entry, snap, history=True)))

    async def change_model(request: Request) -> Response:
        change = decode(await request.body(), ModelChange)
        return await detail(await catalog.change(request.path_params["model_id"], change))

    async def disable(request: Request) -> Response:
        return await detail(await catalog.set_enabled(request.path_params["model_id"], False))

    async def enable(request: Request) -> Response:
        return await detail(await catalog.set_enabled(request.path_params["model_id"], True))

    async def prices(request: Request) -> Response:
        snap, entry = await catalog.entry(request.path_params["model_id"])
        return _json(encode(history_out(entry, snap)))

    async def add_price(request: Request) -> Response:
        entry = await catalog.add_price(request.path_params["model_id"], decode(await request.body(), PriceCreate))
        return _json(encode(history_out(entry, await catalog.view())), 201)

    async def cancel_price(request: Request) -> Response:
        raw = request.query_params.get("effective_from")
        if not raw:
            raise InvalidRequest("effective_from (the time of the scheduled price) is required", param="effective_from")
        entry = await catalog.cancel_price(request.path_params["model_id"], time_param(raw, "effective_from"))
        return _json(encode(history_out(entry, await catalog.view())))

    async def sync_report(request: Request) -> Response:
        return _json(encode(sync_out(*await catalog.sync())))

    async def sync_apply(request: Request) -> Response:
        return _json(encode(sync_out(*await catalog.sync(decode(await request.body(), SyncApply)))))

    one = f"{prefix}/models/{{model_id:path}}"
    return [
        Route(f"{prefix}/models", guarded(list_models), methods=["GET"]),
        Route(f"{prefix}/models", guarded(create_model), methods=["POST"]),
        Route(f"{prefix}/catalog/sync", guarded(sync_report), methods=["GET"]),
        Route(f"{prefix}/catalog/sync", guarded(sync_apply), methods=["POST"]),
        Route(f"{one}/prices", guarded(prices), methods=["GET"]),
        Route(f"{one}/prices", guarded(add_price), methods=["POST"]),
        Route(f"{one}/prices", guarded(cancel_price), methods=["DELETE"]),
        Route(f"{one}/disable", guarded(disable), methods=["POST"]),
        Route(f"{one}/enable", guarded(enable), methods=["POST"]),
        Route(one, guarded(get_model), methods=["GET"]),
        Route(one, guarded(change_model), methods=["PATCH"]),
    ]
