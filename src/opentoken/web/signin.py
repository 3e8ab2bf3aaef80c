"""Signing in to the console with an OpenToken API key (a key holder) or ``OPENTOKEN_ADMIN_KEY`` (the
operator), and signing out. Failed attempts are slowed down, then refused with 429 (``throttle.py``)."""

from __future__ import annotations

import asyncio
import math
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opentoken.core.errors import AuthenticationFailed
from opentoken.web.console import Console
from opentoken.web.i18n import N_
from opentoken.web.public import local_path
from opentoken.web.session import CSRF_FIELD, LOGIN_COOKIE, csrf_ok

LOGIN_COOKIE_SECONDS = 3600


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form(console: Console, request: Request, error: str | None = None, status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    context = {"error": error, "login_token": token, "next": local_path(request.query_params.get("next"), "/console")}
    response = console.page(request, "login.html", context, status=status)
    response.headers["cache-control"] = "no-store"
    console.sessions.set_cookie(response, request, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
    return response


async def login_page(console: Console, request: Request) -> Response:
    if await console.sessions.viewer(request) is not None:
        return RedirectResponse(local_path(request.query_params.get("next"), "/console"), status_code=303)
    return _form(console, request)


async def login(console: Console, request: Request) -> Response:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE) or "", token if isinstance(token, str) else None):
        return _form(console, request, N_("This form has expired. Reload the page and try again."), 403)
    client = _client(request)
    verdict = console.throttle.check(client)
    if verdict.retry_after is not None:
        response = _form(console, request, N_("Too many failed sign-ins. Wait a while, then try again."), 429)
        response.headers["retry-after"] = str(math.ceil(verdict.retry_after))
        return response
    if verdict.delay:
        await asyncio.sleep(verdict.delay)
    secret = form.get("key")
    secret = secret.strip() if isinstance(secret, str) else ""
    if not secret:
        return _form(console, request, N_("Enter an API key."), 400)
    if console.sessions.is_admin_key(secret):
        cookie, _ = await console.sessions.start("admin", None)
    else:
        try:
            key = await console.pipeline.authenticator.authenticate(f"Bearer {secret}")
        except AuthenticationFailed:
            console.throttle.failed(client)
            return _form(console, request, N_("This key was not accepted: it is unknown, revoked or expired."), 401)
        cookie, _ = await console.sessions.start("key", key.id)
    console.throttle.succeeded(client)
    target = form.get("next")
    response = RedirectResponse(local_path(target if isinstance(target, str) else None, "/console"), status_code=303)
    console.sessions.keep(response, request, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if viewer is not None and not csrf_ok(viewer.csrf, given if isinstance(given, str) else None):
        return console.problem(request, 403, N_("This form has expired. Reload the page and try again."), viewer)
    await console.sessions.end(request)
    response = RedirectResponse("/console/login", status_code=303)
    console.sessions.forget(response, request)
    return response
