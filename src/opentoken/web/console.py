"""What every console page needs: the services, who is looking, and the page wrappers that check it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opentoken.admin.service import AdminServices
from opentoken.catalog.lookup import Catalog
from opentoken.core.errors import GatewayError, NotFound
from opentoken.pipeline import Pipeline
from opentoken.stores.base import KeyStore, Ledger
from opentoken.web.i18n import N_
from opentoken.web.render import Renderer
from opentoken.web.session import CSRF_FIELD, Sessions, Viewer, csrf_ok
from opentoken.web.throttle import SignInThrottle

Page = Callable[["Console", Request, Viewer], Awaitable[Response]]
PublicPage = Callable[["Console", Request], Awaitable[Response]]
CHART_DAYS = 30


@dataclass(slots=True)
class Console:
    catalog: Catalog
    pipeline: Pipeline
    admin: AdminServices
    keys: KeyStore
    ledger: Ledger
    sessions: Sessions
    renderer: Renderer
    throttle: SignInThrottle

    @property
    def operator_enabled(self) -> bool:
        return self.sessions.admin_key is not None

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        viewer: Viewer | None = None,
        status: int = 200,
    ) -> Response:
        return self.renderer.render(
            request,
            template,
            {"viewer": viewer, "operator_enabled": self.operator_enabled, **(context or {})},
            status=status,
            private=viewer is not None,
        )

    def problem(self, request: Request, status: int, message: str, viewer: Viewer | None = None) -> Response:
        return self.page(request, "error.html", {"status": status, "message": message}, viewer=viewer, status=status)


def today() -> date:
    return datetime.now(UTC).date()


def chart_window() -> tuple[date, date]:
    """The charts' days: the last ``CHART_DAYS`` UTC days, today included (``since`` <= day < ``until``)."""
    end = today() + timedelta(days=1)
    return end - timedelta(days=CHART_DAYS), end


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


async def _guard(console: Console, request: Request, viewer: Viewer, handler: Page) -> Response:
    """The handler's page; a ``GatewayError`` it raises (an unknown key id, an invalid change) becomes an HTML
    error page with its status instead of the API's JSON error."""
    try:
        return await handler(console, request, viewer)
    except NotFound:
        return console.problem(request, 404, N_("There is nothing here."), viewer)
    except GatewayError as e:
        return console.problem(request, e.status, e.message, viewer)


def signed_in(console: Console, handler: Page, *, operator: bool = False, write: bool = False) -> PublicPage:
    """Run ``handler`` for a signed-in viewer (else: to the sign-in page). ``operator``: only for the
    operator (a key holder gets 404, as if the page did not exist). ``write``: a state-changing form, whose
    CSRF token must match the session's."""

    async def endpoint(_: Console, request: Request) -> Response:
        if operator and not console.operator_enabled:
            return console.problem(request, 404, N_("There is nothing here."))
        viewer = await console.sessions.viewer(request)
        if viewer is None:
            if request.method != "GET":
                return console.problem(request, 401, N_("Your session has ended. Sign in again."))
            return _login_redirect(request)
        if operator and not viewer.is_admin:
            return console.problem(request, 404, N_("There is nothing here."), viewer)
        if write:
            form = await request.form()
            given = form.get(CSRF_FIELD)
            if not csrf_ok(viewer.csrf, given if isinstance(given, str) else None):
                return console.problem(
                    request, 403, N_("This form has expired. Reload the page and try again."), viewer
                )
        return await _guard(console, request, viewer, handler)

    return endpoint
