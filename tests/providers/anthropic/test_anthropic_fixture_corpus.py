"""The recorded Anthropic traffic the adapter tests use is a copy of the shared upstream corpus.

``tests/providers/anthropic/fixtures`` holds the files of ``fixtures/upstream/anthropic`` so the tests run
anywhere. Where the shared corpus is present (``$OPENTOKEN_UPSTREAM_FIXTURES`` or the workspace copy) the two
must hold the same files with the same bytes, so every recorded interaction stays covered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LOCAL = Path(__file__).parent / "fixtures"
SHARED = [
    Path(os.environ["OPENTOKEN_UPSTREAM_FIXTURES"]) / "anthropic"
    if "OPENTOKEN_UPSTREAM_FIXTURES" in os.environ
    else None,
    Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "upstream" / "anthropic",
]


def test_local_corpus_is_complete() -> None:
    names = {p.name for p in LOCAL.glob("*.json")}
    assert len(names) == 33
    assert {n.split("_")[0] for n in names} == {"nonstream", "stream", "error"}


def test_local_corpus_matches_the_shared_one() -> None:
    shared = next((p for p in SHARED if p is not None and p.is_dir()), None)
    if shared is None:
        pytest.skip("the shared upstream corpus is not present here")
    assert {p.name for p in shared.glob("*.json")} == {p.name for p in LOCAL.glob("*.json")}
    for path in shared.glob("*.json"):
        assert (LOCAL / path.name).read_bytes() == path.read_bytes(), path.name
