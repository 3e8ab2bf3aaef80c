"""Jinja2 environments (one per language) and the HTML response every page goes out as.

Every page carries a Content-Security-Policy that allows only the gateway's own scripts, styles and
images (no inline script or style anywhere), and is not cached when it belongs to a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from opentoken.web import i18n

STATIC_DIR = Path(__file__).parent / "static"
SCRIPT = "opentoken-console-1.0.0.js"  # version-named: a changed file gets a new name
STYLE = "opentoken-console-1.0.0.css"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def usd(amount: Decimal | None, exact: bool = False) -> str:
    """``$0.000370368`` (exact below a dollar, or when asked), ``$1,234.57`` above."""
    if amount is None:
        return "-"
    if amount >= 1 and not exact:
        return f"${amount:,.2f}"
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, dot, frac = text.partition(".")
    return f"${int(whole):,}{dot}{frac}"


def exact(amount: Decimal | None) -> str:
    """The amount as a plain decimal string (``data`` values and CSV)."""
    if amount is None:
        return ""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def number(value: int | float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def compact(value: int | float) -> str:
    """1234 -> 1.2K, 5_600_000 -> 5.6M (chart axes)."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:g}" if isinstance(value, float) else str(value)


def _query(base: Mapping[str, Any], **changes: Any) -> str:
    """The query string of ``base`` with ``changes`` (None removes a parameter; lists repeat it)."""
    merged = {**base, **changes}
    pairs: list[tuple[str, str]] = []
    for name, value in merged.items():
        if value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, str(item)))
    return "?" + urlencode(pairs) if pairs else ""


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("opentoken.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_for(lang), i18n.ngettext_for(lang), newstyle=True
    )
    env.filters.update(usd=usd, exact=exact, number=number, when=when, compact=compact)
    env.globals.update(lang=lang, languages=i18n.LANGUAGES, script=SCRIPT, style=STYLE, query=_query, N_=i18n.N_)
    return env


class Renderer:
    def __init__(self) -> None:
        self.environments = {lang: _environment(lang) for lang in i18n.LANGUAGES}

    def language(self, request: Request) -> str:
        return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        private: bool = True,
        lang: str | None = None,
    ) -> HTMLResponse:
        lang = lang or self.language(request)
        env = self.environments[lang]
        page = env.get_template(template).render(request=request, path=request.url.path, **(context or {}))
        headers = dict(SECURITY_HEADERS)
        headers["cache-control"] = "no-store" if private else "public, max-age=60"
        headers["content-language"] = lang
        headers["vary"] = "Cookie, Accept-Language"
        return HTMLResponse(page, status_code=status, headers=headers)
