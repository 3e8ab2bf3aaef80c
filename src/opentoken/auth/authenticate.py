"""Bearer-key authentication with a short-lived cache (no store read per request for a known key).

Entries live ``ttl`` seconds (default 1 s, so a key revoked or changed anywhere takes effect within a second
on every replica even without a bus) and are dropped at once when the invalidation bus names the key.
Unknown keys are cached negatively for the same time, so a flood of bad keys cannot hammer the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from opentoken.auth.keys import hash_key
from opentoken.core.errors import AuthenticationFailed
from opentoken.stores.base import ApiKey, KeyStore

_MAX_ENTRIES = 100_000


class Authenticator:
    def __init__(self, keys: KeyStore, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def authenticate(self, authorization: str | None) -> ApiKey:
        if not authorization:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
            )
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise AuthenticationFailed("Malformed Authorization header; expected 'Bearer <key>'.")
        digest = hash_key(secret)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            key = hit[1]
        else:
            key = await self._keys.get_by_hash(digest)
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, key)
        return self._check(key, secret)

    @staticmethod
    def _check(key: ApiKey | None, secret: str) -> ApiKey:
        shown = secret[:6] + "..." if len(secret) > 8 else "***"
        if key is None:
            raise AuthenticationFailed(f"Incorrect API key provided: {shown}.")
        if key.revoked_at is not None:
            raise AuthenticationFailed(f"The API key {key.prefix}... has been revoked.", code="api_key_revoked")
        if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
            raise AuthenticationFailed(f"The API key {key.prefix}... has expired.", code="api_key_expired")
        return key

    def invalidate(self, key_id: str | None = None) -> None:
        """Forget cached entries for ``key_id`` (or everything)."""
        if key_id is None:
            self._cache.clear()
            return
        stale = [h for h, (_, k) in self._cache.items() if k is None or k.id == key_id]
        for h in stale:
            self._cache.pop(h, None)
