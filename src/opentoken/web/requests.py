"""The request log (newest first, paged by keyset, filterable) and the detail of one request. A key holder
sees only their key's requests: the key filter is theirs whatever the URL says, and another key's request
is answered 404."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from opentoken.core.errors import NotFound
from opentoken.stores.base import RequestQuery
from opentoken.web.console import Console
from opentoken.web.i18n import N_
from opentoken.web.session import Viewer

PAGE_SIZE = 50
STATUSES = {"": N_("Any status"), "ok": N_("Succeeded"), "error": N_("Failed")}


def _time(raw: str | None) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` (a datetime-local field) or any ISO time; without an offset it is UTC."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def query_of(request: Request, viewer: Viewer) -> tuple[RequestQuery, dict[str, Any]]:
    """The log query of the URL's filters, and the filters as they should appear in links."""
    p = request.query_params
    status_raw = p.get("status", "")
    status = int(status_raw) if status_raw.isdigit() and 100 <= int(status_raw) <= 599 else None
    errors = {"ok": False, "error": True}.get(status_raw)
    since, until = _time(p.get("since")), _time(p.get("until"))
    before_at, before_id = _time(p.get("before_at")), p.get("before_id")
    key_id = p.get("key_id") or None
    if not viewer.is_admin:
        assert viewer.key is not None
        key_id = viewer.key.id
    query = RequestQuery(
        key_id=key_id,
        model=p.get("model") or None,
        status=status,
        errors=errors,
        error_code=p.get("error_code") or None,
        since=since,
        until=until,
        before=(before_at, before_id) if before_at and before_id else None,
        limit=PAGE_SIZE,
    )
    shown = {
        "key_id": p.get("key_id") if viewer.is_admin else None,
        "model": query.model,
        "status": status_raw if status is not None or errors is not None else None,
        "error_code": query.error_code,
        "since": p.get("since") if since else None,
        "until": p.get("until") if until else None,
    }
    return query, shown


async def request_log(console: Console, request: Request, viewer: Viewer) -> Response:
    query, shown = query_of(request, viewer)
    rows = await console.ledger.page(query)
    older = None
    if len(rows) == query.limit:
        last = rows[-1]
        older = {**shown, "before_at": last.created_at.isoformat(), "before_id": last.request_id}
    context = {
        "rows": rows,
        "filters": shown,
        "older": older,
        "paged": query.before is not None,
        "statuses": STATUSES,
        "models": sorted(m.id for m in console.catalog),
    }
    return console.page(request, "console/requests.html", context, viewer=viewer)


async def request_detail(console: Console, request: Request, viewer: Viewer) -> Response:
    record = await console.ledger.get(request.path_params["request_id"])
    if record is None or (not viewer.is_admin and (viewer.key is None or record.key_id != viewer.key.id)):
        raise NotFound("no such request")
    key = await console.keys.get(record.key_id) if viewer.is_admin else viewer.key
    model = console.catalog.get(record.model)
    return console.page(request, "console/request.html", {"r": record, "key": key, "model": model}, viewer=viewer)
