"""The console's routes, mounted by ``opentoken.app`` on the gateway's own port, and its static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from opentoken.admin.service import AdminServices
from opentoken.catalog.lookup import Catalog
from opentoken.http.endpoint import IngressEndpoint
from opentoken.ingress.openai_chat.codec import OpenAIChatCodec
from opentoken.pipeline import Pipeline
from opentoken.settings import Settings
from opentoken.stores.base import KeyStore, Ledger, SessionStore
from opentoken.web import keys, playground, public, requests, signin, status, usage
from opentoken.web.console import Console, Page, PublicPage, signed_in
from opentoken.web.i18n import N_
from opentoken.web.render import STATIC_DIR, Renderer
from opentoken.web.session import Sessions, Viewer
from opentoken.web.throttle import SignInThrottle


def _bind(console: Console, handler: PublicPage) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(console, request)

    return endpoint


def _by_role(holder: Page, operator: Page) -> Page:
    async def page(console: Console, request: Request, viewer: Viewer) -> Response:
        return await (operator if viewer.is_admin else holder)(console, request, viewer)

    return page


async def _not_found(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    return console.problem(request, 404, N_("There is nothing here."), viewer)


def web_routes(console: Console, max_body_bytes: int) -> list[BaseRoute]:
    chat = IngressEndpoint(OpenAIChatCodec(), console.pipeline, max_body_bytes)

    def route(path: str, handler: PublicPage, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, _bind(console, handler), methods=list(methods))

    def page(path: str, handler: Page, *, operator: bool = False) -> Route:
        return route(path, signed_in(console, handler, operator=operator))

    def form(path: str, handler: Page, *, operator: bool = True) -> Route:
        return route(path, signed_in(console, handler, operator=operator, write=True), ("POST",))

    return [
        route("/", public.home),
        route("/models", public.models),
        route("/models/{provider}/{model:path}", public.model),
        route("/lang/{lang}", public.language),
        route("/console/login", signin.login_page),
        route("/console/login", signin.login, ("POST",)),
        route("/console/logout", signin.logout, ("POST",)),
        page("/console", _by_role(usage.holder_overview, usage.operator_overview)),
        page("/console/requests", requests.request_log),
        page("/console/requests/{request_id}", requests.request_detail),
        page("/console/playground", playground.page),
        Route("/console/playground/chat", playground.PlaygroundChat(console, chat), methods=["POST"]),
        page("/console/usage", usage.usage_page, operator=True),
        page("/console/usage.csv", usage.usage_csv, operator=True),
        page("/console/keys", keys.key_list, operator=True),
        page("/console/keys/new", keys.new_key, operator=True),
        form("/console/keys/new", keys.create_key),
        page("/console/keys/{key_id}", keys.key_detail, operator=True),
        form("/console/keys/{key_id}", keys.update_key),
        form("/console/keys/{key_id}/revoke", keys.revoke_key),
        form("/console/keys/{key_id}/rotate", keys.rotate_key),
        page("/console/deployments", status.deployments, operator=True),
        page("/console/catalog", status.catalog, operator=True),
        route("/console/{rest:path}", _not_found, ("GET", "POST")),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def console_routes(
    *,
    catalog: Catalog,
    pipeline: Pipeline,
    admin: AdminServices,
    keys: KeyStore,
    ledger: Ledger,
    sessions: SessionStore,
    settings: Settings,
) -> list[BaseRoute]:
    """The console over the app's own services (called once by ``opentoken.app``)."""
    console = Console(
        catalog=catalog,
        pipeline=pipeline,
        admin=admin,
        keys=keys,
        ledger=ledger,
        sessions=Sessions(
            sessions,
            keys,
            admin_key=settings.admin_key,
            secret=settings.session_secret,
            hours=settings.console_session_hours,
            secure=settings.cookie_secure,
        ),
        renderer=Renderer(),
        throttle=SignInThrottle(),
    )
    return web_routes(console, settings.max_body_bytes)
