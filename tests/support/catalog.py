"""Catalog entries for tests that are about an entry's translation, whatever its lifecycle state."""

from __future__ import annotations

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import Catalog


def entry(catalog: Catalog, model_id: str) -> ModelInfo:
    """The entry named ``model_id`` (even retired or disabled); a missing entry fails the test at once."""
    found = catalog.entry(model_id)
    assert found is not None, f"no catalog entry {model_id}"
    return found
