"""The provider registry: one line per provider. Adding a provider means adding a folder and a line here."""

from __future__ import annotations

from opentoken.providers import anthropic, gemini
from opentoken.providers.base import Embedder, Provider


def all_providers() -> dict[str, Provider]:
    return {p.name: p for p in (anthropic.PROVIDER, gemini.PROVIDER)}


def embedders() -> dict[str, Embedder]:
    return {e.name: e for e in (gemini.EMBEDDER,)}
