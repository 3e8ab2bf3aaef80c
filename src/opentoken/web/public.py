"""Pages anyone may read: the home page, the models page and one page per model, and the language switch."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opentoken.web import i18n
from opentoken.web.console import Console, today
from opentoken.web.models import CAPABILITIES, MODALITIES, SORTS, ModelFilter, cards, snippets


def api_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/v1"


async def home(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    count = len(cards(console.catalog))
    return console.page(request, "home.html", {"model_count": count, "api_base": api_base(request)}, viewer=viewer)


async def models(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    every = cards(console.catalog, today())
    providers = sorted({c.info.provider for c in every})
    chosen = ModelFilter.from_query(request.query_params, providers)
    shown = chosen.apply(every)
    context = {
        "cards": shown,
        "total": len(every),
        "filter": chosen,
        "params": chosen.params(),
        "providers": providers,
        "capabilities": CAPABILITIES,
        "modalities": MODALITIES,
        "sorts": SORTS,
    }
    return console.page(request, "models.html", context, viewer=viewer)


async def model(console: Console, request: Request) -> Response:
    viewer = await console.sessions.viewer(request)
    model_id = f"{request.path_params['provider']}/{unquote(request.path_params['model'])}"
    entry = console.catalog.entry(model_id)  # retired and deprecated entries keep their page
    if entry is None or not entry.enabled or entry.id != model_id:
        return console.problem(request, 404, i18n.N_("No model has this id."), viewer)
    (found,) = cards([entry], today())
    successor = found.info.lifecycle.successor
    context = {
        "card": found,
        "snippets": snippets(found.out.id, api_base(request)),
        "successor": successor if successor and console.catalog.get(successor) else None,
        "capabilities": CAPABILITIES,
        "modalities": MODALITIES,
    }
    return console.page(request, "model.html", context, viewer=viewer)


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site (never another host), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def language(console: Console, request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax")
    return response
