"""Bearer-key authentication with a short-lived cache (no store read per request for a known key).

Entries live ``ttl`` seconds (default 1 s, so a key revoked or changed anywhere takes effect within a second
on every replica even without a bus) and are dropped at once when the invalidation bus names the key.
Unknown keys are cached negatively for the same time, so a flood of bad keys cannot hammer the store.

A lookup is single-flight: when an entry expires while many requests use the key, one store read refreshes
it and the others wait for that read (without this, every request in flight at that moment read the store:
64 reads a second per busy key at 64 concurrent connections). A load that was in flight when the key was
invalidated is not cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from opentoken.auth.keys import hash_key
from opentoken.core.errors import AuthenticationFailed
from opentoken.stores.base import ALL_KEYS, ApiKey, KeyStore
from opentoken.telemetry.record import current_record

_MAX_ENTRIES = 100_000


class Authenticator:
    def __init__(self, keys: KeyStore, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._loading: dict[str, asyncio.Future[ApiKey | None]] = {}
        self._generation = 0  # bumped by invalidate(): loads started before it are not cached

    async def authenticate(self, authorization: str | None) -> ApiKey:
        if not authorization:
            raise AuthenticationFailed(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or 'x-api-key: <key>').",
                code="missing_api_key",
            )
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise AuthenticationFailed("Malformed Authorization header; expected 'Bearer <key>'.")
        digest = hash_key(secret)
        now = self._clock()
        hit = self._cache.get(digest)
        key = hit[1] if hit is not None and hit[0] > now else await self._lookup(digest)
        checked = self._check(key, secret)
        observed = current_record()
        if observed is not None:
            observed.key_id = checked.id
        return checked

    async def _lookup(self, digest: str) -> ApiKey | None:
        pending = self._loading.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._load(digest, self._generation))
            self._loading[digest] = pending
            pending.add_done_callback(lambda done: self._loaded(digest, done))
        return await asyncio.shield(pending)  # one waiter giving up does not cancel the others' read

    async def _load(self, digest: str, generation: int) -> ApiKey | None:
        key = await self._keys.get_by_hash(digest)
        if generation == self._generation:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[digest] = (self._clock() + self._ttl, key)
        return key

    def _loaded(self, digest: str, done: asyncio.Future[ApiKey | None]) -> None:
        if self._loading.get(digest) is done:
            del self._loading[digest]
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have gone away before it failed

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
        """Forget cached entries for ``key_id`` (or everything: None or ``ALL_KEYS``)."""
        self._generation += 1
        self._loading.clear()  # requests from now on read the store afresh
        if key_id is None or key_id == ALL_KEYS:
            self._cache.clear()
            return
        stale = [h for h, (_, k) in self._cache.items() if k is None or k.id == key_id]
        for h in stale:
            self._cache.pop(h, None)
