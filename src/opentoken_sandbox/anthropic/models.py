"""What a Claude model id implies: the snapshot it answers as, its output limit and the features it accepts.

Facts from Anthropic's model and feature pages (2025-2026):

- aliases of dated snapshots answer with the snapshot id (``claude-sonnet-4-5`` -> ``...-20250929``); models from
  4.6 on answer with the alias itself;
- adaptive thinking exists from 4.6 on ("adaptive thinking is not supported on this model" before); from
  Opus 4.7 on it is the only thinking mode (``thinking.type.enabled`` is refused) and ``display`` defaults to
  ``omitted`` instead of ``summarized``;
- ``output_config.effort`` exists on Opus 4.5 and on every model from 4.6 on; ``max`` from 4.6, ``xhigh`` from
  Opus 4.7;
- mid-conversation ``role: "system"`` messages exist from Opus 4.8 on;
- ``max_tokens`` above the model's output limit is refused with the snapshot id in the message.

Ids the table does not know (``claude-future-9``) are accepted with the newest behaviour and no output limit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_SNAPSHOTS = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
}
_OUTPUT_LIMITS = {
    (4, 0, "opus"): 32_000,
    (4, 1, "opus"): 32_000,
    (4, 0, "sonnet"): 64_000,
    (4, 5, "sonnet"): 64_000,
    (4, 5, "haiku"): 64_000,
    (4, 5, "opus"): 64_000,
    (4, 6, "sonnet"): 64_000,
    (4, 6, "opus"): 128_000,
    (4, 7, "opus"): 128_000,
    (4, 8, "opus"): 128_000,
}
# claude-sonnet-4-5, claude-sonnet-4-5-20250929, claude-opus-5, claude-3-7-sonnet-20250219
_NEW_STYLE = re.compile(r"^claude-([a-z]+)-(\d+)(?:-(\d))?(?:-\d{8})?$")
_OLD_STYLE = re.compile(r"^claude-(\d+)(?:-(\d))?-([a-z]+)")
EFFORTS = ("low", "medium", "high", "xhigh", "max")


@functools.lru_cache(maxsize=256)
def _parse(name: str) -> tuple[str, tuple[int, int]] | None:
    """(family, (major, minor)) of a Claude id, None when it has neither naming scheme."""
    match = _NEW_STYLE.match(name)
    if match:
        return match.group(1), (int(match.group(2)), int(match.group(3) or 0))
    match = _OLD_STYLE.match(name)
    if match:
        return match.group(3), (int(match.group(1)), int(match.group(2) or 0))
    return None


@dataclass(frozen=True)
class ClaudeModel:
    name: str

    @property
    def _parsed(self) -> tuple[str, tuple[int, int]] | None:
        return _parse(self.name)

    @property
    def family(self) -> str:
        parsed = self._parsed
        return parsed[0] if parsed else ""

    @property
    def version(self) -> tuple[int, int]:
        """(major, minor); ids the table cannot read count as the newest."""
        parsed = self._parsed
        return parsed[1] if parsed else (99, 0)

    @property
    def exists(self) -> bool:
        return self.name.startswith("claude-") and "does-not-exist" not in self.name

    @property
    def snapshot(self) -> str:
        """The id a reply reports in ``model``."""
        return _SNAPSHOTS.get(self.name, self.name)

    @property
    def max_output_tokens(self) -> int | None:
        return _OUTPUT_LIMITS.get((*self.version, self.family))

    @property
    def adaptive_thinking(self) -> bool:
        return self.version >= (4, 6)

    @property
    def adaptive_only(self) -> bool:
        """Opus 4.7 and every model from 5 on refuse ``thinking.type.enabled``."""
        return self.version >= (5, 0) or (self.family == "opus" and self.version >= (4, 7))

    @property
    def default_display(self) -> str:
        return "omitted" if self.adaptive_only else "summarized"

    @property
    def efforts(self) -> tuple[str, ...]:
        """The ``output_config.effort`` values the model accepts (empty: no effort parameter)."""
        if self.adaptive_only:
            return EFFORTS
        if self.version >= (4, 6):
            return ("low", "medium", "high", "max")
        if self.family == "opus" and self.version >= (4, 5):
            return ("low", "medium", "high")
        return ()

    @property
    def system_messages(self) -> bool:
        """Mid-conversation ``role: "system"`` messages (Opus 4.8 and later)."""
        return self.version >= (5, 0) or (self.family == "opus" and self.version >= (4, 8))
