"""The benchmark's own modules (``bench/``, at the repository root) for the tests of this folder: the root goes on
``sys.path`` before any test module here imports ``bench`` (``tests/`` is on the path too, and this folder's
name would otherwise be taken for the package)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
