"""Find secrets in what a gateway process wrote: the known ones, and anything shaped like an OpenToken key."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# an OpenToken key: "ot-" and 40 URL-safe characters (opentoken.auth.keys), wherever it appears
KEY_SHAPE = re.compile(r"ot-[A-Za-z0-9_-]{40}")
PROVIDER_KEYS = ("sk-ant-test-secret", "gemini-test-secret")  # the provider keys support.servers.gateway_env sets


def leaked(log: Path, known: Iterable[str]) -> list[str]:
    """The lines of ``log`` holding a known secret (or the part of it after its displayed prefix) or a key."""
    secrets = [s for s in known if s]
    hits = []
    for line in log.read_text(errors="replace").splitlines():
        if KEY_SHAPE.search(line) or any(s in line or (len(s) > 20 and s[10:] in line) for s in secrets):
            hits.append(line)
    return hits
