"""Key management and usage queries shared by the admin API and the admin CLI.

Every change is committed to the key store first; then ``on_key_changed(key_id)`` tells the gateway (in
this process, and through the invalidation bus in every replica) to drop cached copies of the key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from opentoken.admin.catalog_service import CatalogAdmin
from opentoken.admin.schema import KeyCreate, KeyOut, key_out, usd
from opentoken.auth.keys import generate_key, new_api_key
from opentoken.core.errors import InvalidRequest, NotFound
from opentoken.limits.periods import current_period
from opentoken.stores.base import ApiKey, KeyChanges, KeyStore, Ledger, UsageQuery, UsageRecord, UsageRow


async def _no_listener(key_id: str) -> None:
    return None


@dataclass(slots=True)
class AdminServices:
    keys: KeyStore
    ledger: Ledger
    admin_key: str | None = None  # None or empty: the admin API answers 403 admin_disabled
    on_key_changed: Callable[[str], Awaitable[None]] = _no_listener
    catalog: CatalogAdmin | None = None  # the catalog's admin (admin/catalog_routes.py, docs/catalog.md)

    async def create_key(self, spec: KeyCreate) -> tuple[ApiKey, str]:
        key, secret = new_api_key(
            spec.name,
            owner=spec.owner,
            models=tuple(spec.models),
            budget_usd=spec.budget(),
            budget_period=spec.budget_period,
            rpm=spec.rpm,
            tpm=spec.tpm,
            max_concurrent=spec.max_concurrent,
            expires_at=spec.expires_at,
            metadata=spec.metadata,
        )
        await self.keys.create(key)
        return key, secret

    async def get_key(self, key_id: str) -> ApiKey:
        key = await self.keys.get(key_id)
        if key is None:
            raise _missing(key_id)
        return key

    async def list_keys(self) -> list[ApiKey]:
        return await self.keys.list()

    async def update_key(self, key_id: str, changes: KeyChanges) -> ApiKey:
        key = await self.keys.update(key_id, changes)
        if key is None:
            raise _missing(key_id)
        await self.on_key_changed(key_id)
        return key

    async def revoke_key(self, key_id: str) -> ApiKey:
        key = await self.keys.revoke(key_id, datetime.now(UTC))
        if key is None:
            raise _missing(key_id)
        await self.on_key_changed(key_id)
        return key

    async def rotate_key(self, key_id: str) -> tuple[ApiKey, str]:
        """A new secret for the key (same id, limits and ledger history); the old secret stops working."""
        current = await self.get_key(key_id)
        if current.revoked_at is not None:
            raise InvalidRequest(f"Key {key_id!r} is revoked; create a new key instead.", code="key_revoked")
        secret, prefix, key_hash = generate_key()
        key = await self.keys.replace_hash(key_id, key_hash, prefix)
        if key is None:
            raise _missing(key_id)
        await self.on_key_changed(key_id)
        return key, secret

    async def key_detail(self, key_id: str) -> KeyOut:
        """The key with its spend in the current budget period and what remains of its budget."""
        key = await self.get_key(key_id)
        now = datetime.now(UTC)
        period = current_period(key.budget_period, now)
        spent = await self.ledger.spend(key.id, period.start)
        out = key_out(key, now)
        out.spend_usd = usd(spent)
        out.period_start = period.start
        out.budget_remaining_usd = None if key.budget_usd is None else usd(max(key.budget_usd - spent, Decimal(0)))
        return out

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        return await self.ledger.usage(query)

    async def recent(self, limit: int, key_id: str | None = None) -> list[UsageRecord]:
        return await self.ledger.recent(limit=limit, key_id=key_id)


def _missing(key_id: str) -> NotFound:
    return NotFound(f"No key with id {key_id!r}.", code="key_not_found")
