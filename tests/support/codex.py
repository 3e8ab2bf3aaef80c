"""Codex CLI (npm ``@openai/codex``, pinned) for the end-to-end tests, installed once into a cache folder.

The folder is ``$OPENTOKEN_CODEX_DIR`` or ``~/.cache/opentoken-ci/codex-<version>`` (next to the cached
Claude Code); ``.ci/run`` installs into it before the tests (``python tests/support/codex.py``), and a test run
installs it there itself when it is missing. The npm package is a small launcher whose native binary comes in a platform package
(``@openai/codex-linux-x64``, an optional dependency): ``npm install`` brings both, with no install script to
run. Installs go to a temporary folder renamed into place, so concurrent runs never see half an install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CODEX_VERSION = "0.171.0"
PACKAGE = f"@openai/codex@{CODEX_VERSION}"


def codex_dir() -> Path:
    configured = os.environ.get("OPENTOKEN_CODEX_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "opentoken-ci" / f"codex-{CODEX_VERSION}"


def codex_path() -> Path:
    return codex_dir() / "node_modules" / ".bin" / "codex"


def install_codex() -> Path:
    """The Codex launcher, installed first if needed; raises RuntimeError when it cannot be."""
    target = codex_path()
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: cannot install Codex CLI")
    home = target.parents[2]
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".codex-{CODEX_VERSION}-", dir=home.parent))
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save", PACKAGE],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm install {PACKAGE} failed: {done.stderr[-2000:]}")
        version = subprocess.run(
            [str(staging / "node_modules" / ".bin" / "codex"), "--version"], capture_output=True, text=True, timeout=60
        )
        if CODEX_VERSION not in version.stdout:
            raise RuntimeError(f"the installed Codex does not run: {version.stdout} {version.stderr}")
        try:
            staging.rename(home)
        except OSError:
            if not target.exists():  # another run won the race: keep its install
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


if __name__ == "__main__":
    path = install_codex()
    print(f"Codex CLI {CODEX_VERSION}: {path}")
    sys.exit(0)
