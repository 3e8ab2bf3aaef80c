"""Deterministic token counting: about one token per four characters.

Input is counted arithmetically. Output text is split into pieces (one piece = one token) so that a streamed
reply, cut into deltas along piece boundaries, adds up exactly to the non-streamed count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PIECE = re.compile(r"\s*\S{1,4}|\s+")
IMAGE_TOKENS = 258


def count_text(text: str) -> int:
    """Tokens of an input text: ceil(len / 4); 0 for an empty string."""
    return (len(text) + 3) // 4


def pieces(text: str) -> list[str]:
    """Split output text into token pieces; ``"".join(pieces(t)) == t``."""
    return _PIECE.findall(text)


def group(items: Sequence[str], sizes: Sequence[int]) -> list[tuple[str, int]]:
    """Join consecutive pieces into groups whose sizes cycle through ``sizes``: (text, piece count)."""
    out: list[tuple[str, int]] = []
    i = 0
    turn = 0
    while i < len(items):
        size = sizes[turn % len(sizes)]
        chunk = items[i : i + size]
        out.append(("".join(chunk), len(chunk)))
        i += size
        turn += 1
    return out


def split_string(text: str, sizes: Sequence[int]) -> list[str]:
    """Cut a string at character offsets whose gaps cycle through ``sizes`` (for JSON fragments)."""
    return [chunk for chunk, _ in group(list(text), sizes)]
