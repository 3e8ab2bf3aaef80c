"""What a Gemini model name implies: version, thinking support, reply style."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^gemini-(\d+)(?:\.(\d+))?")
_EMBEDDING_PREFIXES = ("gemini-embedding-", "text-embedding-", "embedding-")


@dataclass(frozen=True)
class GeminiModel:
    name: str

    @property
    def version(self) -> tuple[int, int]:
        match = _VERSION.match(self.name)
        if not match:
            return (0, 0)
        return (int(match.group(1)), int(match.group(2) or 0))

    @property
    def embedding(self) -> bool:
        """Embedding models (``gemini-embedding-001``, ``text-embedding-004``): embedContent and countTokens."""
        return "does-not-exist" not in self.name and self.name.startswith(_EMBEDDING_PREFIXES)

    @property
    def exists(self) -> bool:
        """A generative model (generateContent, streamGenerateContent, countTokens)."""
        return self.name.startswith("gemini-") and "does-not-exist" not in self.name and not self.embedding

    def supports(self, method: str) -> bool:
        if method in ("embedContent", "batchEmbedContents"):
            return self.embedding
        if method == "countTokens":
            return self.exists or self.embedding
        return self.exists

    @property
    def gen3(self) -> bool:
        """Gemini 3 and later: thinking levels, mandatory thought signatures on function calls."""
        return self.name.startswith("gemini-3")

    @property
    def can_think(self) -> bool:
        return self.version >= (2, 5)

    @property
    def pro(self) -> bool:
        return "-pro" in self.name

    @property
    def lite(self) -> bool:
        return "lite" in self.name

    @property
    def call_ids(self) -> bool:
        """gemini-3.5 and later put an ``id`` on each functionCall."""
        return self.version >= (3, 5)

    @property
    def calls_in_one_chunk(self) -> bool:
        """Older models stream all function calls together with the finishReason."""
        return self.version < (2, 5)

    def thinking_on(self, budget: int | None, level: str | None) -> bool:
        if not self.can_think:
            return False
        if self.gen3 or self.pro:
            return True
        if budget is not None:
            return budget != 0
        return level is not None or not self.lite
