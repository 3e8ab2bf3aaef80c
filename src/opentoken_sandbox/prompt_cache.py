"""Prompt caching: Anthropic ``cache_control`` breakpoints and Gemini implicit prefix hits.

A request is a list of segments (tools, system, then message blocks or contents) in prompt order. A prefix
is identified by a running hash over the segments' canonical JSON, so the same prefix in a later request
is recognised whatever follows it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Segment:
    tokens: int
    material: Any
    breakpoint: bool = False
    ttl: str = "5m"


@dataclass(frozen=True)
class CacheUsage:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def write(self) -> int:
        return self.write_5m + self.write_1h


def canonical(value: Any) -> bytes:
    if isinstance(value, dict) and "cache_control" in value:
        value = {k: v for k, v in value.items() if k != "cache_control"}
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class PrefixCache:
    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def clear(self) -> None:
        self._seen.clear()

    def _has(self, key: bytes) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        return False

    def _add(self, key: bytes) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)

    @staticmethod
    def _prefixes(segments: list[Segment]) -> list[tuple[bytes, int, Segment]]:
        running = hashlib.blake2b(digest_size=16)
        total = 0
        out = []
        for segment in segments:
            running.update(canonical(segment.material))
            running.update(b"\x1e")
            total += segment.tokens
            out.append((running.copy().digest(), total, segment))
        return out

    def breakpoints(self, segments: list[Segment], min_tokens: int) -> CacheUsage:
        """Anthropic: read the longest cached breakpoint prefix, write the rest up to the last breakpoint.

        Tokens written are split by TTL: those between two breakpoints go to the TTL of the later one (a
        1-hour breakpoint followed by a 5-minute one writes its prefix for an hour and the rest for 5 minutes).
        """
        points = [(key, total, seg) for key, total, seg in self._prefixes(segments) if seg.breakpoint]
        points = [p for p in points if p[1] >= max(1, min_tokens)]
        if not points:
            return CacheUsage()
        read = 0
        for key, total, _ in reversed(points):
            if self._has(key):
                read = total
                break
        written = {"5m": 0, "1h": 0}
        done = read
        for key, total, segment in points:
            if total > done:
                written["1h" if segment.ttl == "1h" else "5m"] += total - done
                done = total
            self._add(key)
        return CacheUsage(read=read, write_5m=written["5m"], write_1h=written["1h"])

    def implicit(self, segments: list[Segment], min_tokens: int) -> int:
        """Gemini: tokens of the longest previously seen prefix of at least ``min_tokens``."""
        if sum(s.tokens for s in segments) < min_tokens:
            return 0
        prefixes = [(key, total) for key, total, _ in self._prefixes(segments) if total >= min_tokens]
        hit = 0
        for key, total in reversed(prefixes):
            if self._has(key):
                hit = total
                break
        for key, _ in prefixes:
            self._add(key)
        return hit
