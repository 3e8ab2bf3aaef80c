"""Canonical embedding request and result: what the embeddings ingress parses into and providers map from.

``inputs`` keep the client's order; a provider adapter splits them into as many upstream requests as its
per-request limit needs and the result lists one vector per input, in that order. ``dimensions`` asks for
shorter vectors (the provider truncates; the adapter returns them re-normalised to unit length). Usage is
input tokens only.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentoken.core.result import Usage


@dataclass(frozen=True, slots=True)
class EmbedRequest:
    model: str  # the public id, "{provider}/{model}" (or an alias of one)
    inputs: tuple[str, ...]
    dimensions: int | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedResult:
    vectors: tuple[tuple[float, ...], ...]  # one per input, in input order; unit length
    usage: Usage
    upstream_model: str | None = None
