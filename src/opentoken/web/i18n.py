"""English and Korean: the language is the ``ot_lang`` cookie (set by the switch), else Accept-Language.

Messages are the English text itself (gettext style); ``locales/ko.json`` maps each one to Korean. Strings
in Python code that reach a page are marked with ``N_`` so the completeness test finds them too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources

LANGUAGES: Mapping[str, str] = {"en": "English", "ko": "한국어"}
DEFAULT = "en"
COOKIE = "ot_lang"


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined; it is translated where it is shown."""
    return message


@cache
def catalog(lang: str) -> Mapping[str, str]:
    if lang == DEFAULT:
        return {}
    text = resources.files("opentoken.web").joinpath("locales", f"{lang}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def gettext_for(lang: str) -> Callable[[str], str]:
    messages = catalog(lang)

    def gettext(message: str) -> str:
        return messages.get(message) or message

    return gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    gettext = gettext_for(lang)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    return ngettext


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to answer in: the switch's cookie, else the best Accept-Language match, else English."""
    if cookie is not None and cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
