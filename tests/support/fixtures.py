"""The test data of this repository: recorded provider traffic, official OpenAI schemas, client requests.

Everything lives under ``tests/fixtures`` (see its README for provenance); nothing reads outside the
repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
UPSTREAM = ROOT / "upstream"
ANTHROPIC = UPSTREAM / "anthropic"
GEMINI = UPSTREAM / "gemini"
OPENAI = ROOT / "openai"
CLIENTS = ROOT / "clients"


def load_upstream(name: str) -> dict[str, Any]:
    """A recorded upstream interaction by its path under ``upstream/`` (``anthropic/stream_text.json``)."""
    data: dict[str, Any] = json.loads((UPSTREAM / name).read_text())
    return data
