"""The operator's key pages: list with search, create (the secret shown once), edit limits and model
patterns, revoke, rotate. Every change goes through ``AdminServices``, exactly as the admin API's does (so
it is published on the key-change bus and takes effect within a second on every replica)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opentoken.admin.schema import KeyCreate, KeyUpdate, decode
from opentoken.core.errors import InvalidRequest
from opentoken.stores.base import ApiKey, KeyQuery
from opentoken.web.console import Console, chart_window
from opentoken.web.i18n import N_
from opentoken.web.session import Viewer
from opentoken.web.usage import budget, summary

PAGE_SIZE = 50
PERIODS = {"none": N_("No period (lifetime)"), "daily": N_("Daily"), "weekly": N_("Weekly"), "monthly": N_("Monthly")}
NUMBERS = ("rpm", "tpm", "max_concurrent")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def key_fields(form: FormData) -> dict[str, Any]:
    """The key form as an admin-API body: an empty field is ``null`` (no limit)."""
    patterns = [p.strip() for line in _text(form, "models").splitlines() for p in line.split(",") if p.strip()]
    body: dict[str, Any] = {
        "name": _text(form, "name"),
        "owner": _text(form, "owner") or None,
        "models": patterns,
        "budget_usd": _text(form, "budget_usd") or None,
        "budget_period": _text(form, "budget_period") or "none",
    }
    for name in NUMBERS:
        raw = _text(form, name).replace(",", "").replace("_", "")
        if raw and not raw.isdigit():
            raise InvalidRequest(f"{name} must be a whole number, got {raw!r}", param=name)
        body[name] = int(raw) if raw else None
    expires = _text(form, "expires_at")
    if expires:
        try:
            parsed = datetime.fromisoformat(expires)
        except ValueError as e:
            raise InvalidRequest(f"expires_at must be a date and time, got {expires!r}", param="expires_at") from e
        body["expires_at"] = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
    else:
        body["expires_at"] = None
    return body


async def key_list(console: Console, request: Request, viewer: Viewer) -> Response:
    text = request.query_params.get("q", "").strip()[:200]
    after_at, after_id = request.query_params.get("after_at"), request.query_params.get("after_id")
    after = None
    if after_at and after_id:
        try:
            after = (datetime.fromisoformat(after_at), after_id)
        except ValueError:
            after = None
    keys = await console.keys.search(KeyQuery(text=text, limit=PAGE_SIZE, after=after))
    more = None
    if len(keys) == PAGE_SIZE:
        more = {"q": text or None, "after_at": keys[-1].created_at.isoformat(), "after_id": keys[-1].id}
    context = {
        "keys": keys,
        "q": text,
        "more": more,
        "paged": after is not None,
        "total": await console.keys.count(),
        "now_ts": datetime.now(UTC).timestamp(),
    }
    return console.page(request, "console/keys.html", context, viewer=viewer)


def _form_page(
    console: Console, request: Request, viewer: Viewer, key: ApiKey | None, error: InvalidRequest | None = None
) -> Response:
    context = {"key": key, "periods": PERIODS, "error": error, "values": None}
    return console.page(request, "console/key_form.html", context, viewer=viewer, status=400 if error else 200)


async def new_key(console: Console, request: Request, viewer: Viewer) -> Response:
    return _form_page(console, request, viewer, None)


def _secret_page(
    console: Console, request: Request, viewer: Viewer, key: ApiKey, secret: str, rotated: bool
) -> Response:
    context = {"key": key, "secret": secret, "rotated": rotated}
    return console.page(request, "console/key_secret.html", context, viewer=viewer)


async def create_key(console: Console, request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    try:
        spec = decode(msgspec.json.encode(key_fields(form)), KeyCreate)
        key, secret = await console.admin.create_key(spec)
    except InvalidRequest as e:
        return _form_page(console, request, viewer, None, e)
    return _secret_page(console, request, viewer, key, secret, rotated=False)


async def key_detail(console: Console, request: Request, viewer: Viewer) -> Response:
    key = await console.admin.get_key(request.path_params["key_id"])
    since, until = chart_window()
    spent, usage = await asyncio.gather(
        budget(console.ledger, key), summary(console.ledger, since, until, key_id=key.id)
    )
    context = {"key": key, "periods": PERIODS, "budget": spent, "usage": usage, "error": None}
    return console.page(request, "console/key.html", context, viewer=viewer)


async def update_key(console: Console, request: Request, viewer: Viewer) -> Response:
    key = await console.admin.get_key(request.path_params["key_id"])
    form = await request.form()
    try:
        changes = decode(msgspec.json.encode(key_fields(form)), KeyUpdate).changes()
        await console.admin.update_key(key.id, changes)
    except InvalidRequest as e:
        since, until = chart_window()
        context = {
            "key": key,
            "periods": PERIODS,
            "budget": await budget(console.ledger, key),
            "usage": await summary(console.ledger, since, until, key_id=key.id),
            "error": e,
        }
        return console.page(request, "console/key.html", context, viewer=viewer, status=400)
    return RedirectResponse(f"/console/keys/{key.id}?saved=1", status_code=303)


async def revoke_key(console: Console, request: Request, viewer: Viewer) -> Response:
    key = await console.admin.revoke_key(request.path_params["key_id"])
    return RedirectResponse(f"/console/keys/{key.id}?revoked=1", status_code=303)


async def rotate_key(console: Console, request: Request, viewer: Viewer) -> Response:
    key, secret = await console.admin.rotate_key(request.path_params["key_id"])
    return _secret_page(console, request, viewer, key, secret, rotated=True)
