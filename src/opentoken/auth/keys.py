"""Key format and hashing.

A secret is ``ot-`` followed by 40 URL-safe random characters (240 bits). Only its SHA-256 (hex) is stored;
the first ``PREFIX_LENGTH`` characters are kept in the clear so listings can tell keys apart. SHA-256 without
salt or stretching is enough here: the secret is random and long, so there is nothing to brute-force, and
lookup by hash must be a single indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from opentoken.stores.base import ApiKey, BudgetPeriod

SECRET_PREFIX = "ot-"
SECRET_RANDOM_CHARS = 40
PREFIX_LENGTH = 10


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_key() -> tuple[str, str, str]:
    """A fresh secret with its display prefix and stored hash: ``(secret, prefix, key_hash)``."""
    random_part = secrets.token_urlsafe(SECRET_RANDOM_CHARS)[:SECRET_RANDOM_CHARS]  # 40 bytes -> 54 chars
    secret = SECRET_PREFIX + random_part
    return secret, secret[:PREFIX_LENGTH], hash_key(secret)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def new_api_key(
    name: str,
    *,
    owner: str | None = None,
    models: Sequence[str] = (),
    budget_usd: Decimal | None = None,
    budget_period: BudgetPeriod = "none",
    rpm: int | None = None,
    tpm: int | None = None,
    max_concurrent: int | None = None,
    expires_at: datetime | None = None,
    metadata: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Build a new key record; the secret is returned here once and never stored."""
    secret, prefix, key_hash = generate_key()
    key = ApiKey(
        id=new_key_id(),
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        created_at=created_at or datetime.now(UTC),
        owner=owner,
        models=tuple(models),
        budget_usd=budget_usd,
        budget_period=budget_period,
        rpm=rpm,
        tpm=tpm,
        max_concurrent=max_concurrent,
        expires_at=expires_at,
        metadata=dict(metadata or {}),
    )
    return key, secret
