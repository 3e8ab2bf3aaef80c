"""Shared helpers for the Gemini adapter tests: the recorded fixture corpus, SSE splitting, the catalog.

The corpus is the repository's copy in ``tests/fixtures/upstream/gemini``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import load_catalog
from opentoken.providers.base import SSEEvent
from support.fixtures import GEMINI


def _fixture_dir() -> Path:
    return GEMINI


def split_sse(body_text: str) -> list[SSEEvent]:
    """Tiny SSE splitter for the tests: events end at a blank line (CRLF, LF or CR); data lines are joined."""
    events = []
    for block in re.split(r"(?:\r\n|\r|\n){2,}", body_text):
        data = [line[5:].removeprefix(" ") for line in re.split(r"\r\n|\r|\n", block) if line.startswith("data:")]
        if data:
            events.append(SSEEvent(data="\n".join(data)))
    return events


@pytest.fixture(scope="session")
def gemini_dir() -> Path:
    return _fixture_dir()


@pytest.fixture(scope="session")
def gemini_fixture(gemini_dir: Path) -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((gemini_dir / f"{name}.json").read_text("utf-8"))
        return data

    return load


@pytest.fixture(scope="session")
def sse() -> Callable[[str], list[SSEEvent]]:
    return split_sse


@pytest.fixture(scope="session")
def model() -> Callable[[str], ModelInfo]:
    catalog = load_catalog()

    def get(model_id: str) -> ModelInfo:
        return catalog.resolve(model_id)

    return get


@pytest.fixture
def counter_ids() -> Callable[[], Callable[[], str]]:
    """A factory of deterministic tool-call id generators (``call_0001``, ``call_0002``...)."""

    def make() -> Callable[[], str]:
        numbers = itertools.count(1)
        return lambda: f"call_{next(numbers):04d}"

    return make
