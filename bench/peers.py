"""Tools the benchmark installs for itself, each outside the project's virtualenv: LiteLLM's proxy (the peer
measured side by side), matplotlib (for the plot) in their own virtualenvs, and ``wrk`` from Debian.

Every installer returns ``None`` with a reason when it cannot install (no network, not root, no apt), and
the benchmark then runs without that part and says so in its report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("OPENTOKEN_BENCH_CACHE", Path.home() / ".cache" / "opentoken-bench"))
LITELLM_KEY = "sk-bench-7f3c9a1e5b2d4f608a9c1e3b5d7f9a2c"  # LiteLLM's master key (it refuses weak ones)
LITELLM_SPEC = os.environ.get("OPENTOKEN_BENCH_LITELLM", "litellm[proxy]")


def _run(argv: list[str], timeout: float = 900) -> tuple[bool, str]:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return out.returncode == 0, (out.stdout + out.stderr)[-1500:]


def _venv(name: str, packages: list[str], allow_install: bool) -> tuple[Path | None, str]:
    """A virtualenv under the cache with ``packages`` installed; its directory, or None and why not."""
    venv = CACHE / name
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == " ".join(packages):
        return venv, "cached"
    if not allow_install:
        return None, "not installed (run without --no-install to install it)"
    CACHE.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    if uv:
        ok, log = _run([uv, "venv", "-q", "--allow-existing", "-p", py, str(venv)])
        if ok:
            ok, log = _run([uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), *packages])
    else:
        ok, log = _run([sys.executable, "-m", "venv", str(venv)])
        if ok:
            ok, log = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages])
    if not ok:
        return None, f"install failed: {log.strip().splitlines()[-1] if log.strip() else 'no output'}"
    marker.write_text(" ".join(packages))
    return venv, "installed"


def ensure_litellm(allow_install: bool) -> tuple[Path | None, str]:
    """The ``litellm`` executable from its own virtualenv, and its version (or why it is missing)."""
    venv, why = _venv("litellm-venv", [LITELLM_SPEC], allow_install)
    if venv is None:
        return None, why
    ok, version = _run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    )
    return venv / "bin" / "litellm", version.strip() if ok else "unknown version"


def ensure_matplotlib(allow_install: bool) -> tuple[Path | None, str]:
    """A Python that can import matplotlib: this one, or a small virtualenv made for the plot."""
    ok, _ = _run([sys.executable, "-c", "import matplotlib"])
    if ok:
        return Path(sys.executable), "project interpreter"
    venv, why = _venv("plot-venv", ["matplotlib"], allow_install)
    return (venv / "bin" / "python", why) if venv else (None, why)


def ensure_wrk(allow_install: bool) -> tuple[str | None, str]:
    """``wrk`` (Debian package) if present or installable with apt-get as root; else None (Python fallback)."""
    found = shutil.which("wrk")
    if found:
        return found, "present"
    if not allow_install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "wrk not installed and cannot apt-get install it here"
    ok, log = _run(["apt-get", "install", "-y", "-q", "wrk"], timeout=300)
    if not ok:
        _run(["apt-get", "update", "-q"], timeout=300)
        ok, log = _run(["apt-get", "install", "-y", "-q", "wrk"], timeout=300)
    found = shutil.which("wrk")
    return (found, "installed with apt-get") if found else (None, f"apt-get install wrk failed: {log[-200:]}")


def litellm_config(upstreams: dict[str, str]) -> str:
    """LiteLLM proxy config: model name -> Anthropic base URL (the sandbox), with a master key (auth on)."""
    lines = ["model_list:"]
    for name, base in upstreams.items():
        lines += [
            f"  - model_name: {name}",
            "    litellm_params:",
            "      model: anthropic/claude-sonnet-4-5",
            f"      api_base: {base}",
            "      api_key: sk-ant-bench",
        ]
    lines += [
        "litellm_settings:",
        "  telemetry: false",
        "  drop_params: true",
        "general_settings:",
        f"  master_key: {LITELLM_KEY}",
    ]
    return "\n".join(lines) + "\n"
