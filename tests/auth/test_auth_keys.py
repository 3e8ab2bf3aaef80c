"""Key format: ot- + 40 URL-safe characters, a 10-character prefix, the SHA-256 hex of the secret."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal

from opentoken.auth.keys import generate_key, hash_key, new_api_key

SECRET = re.compile(r"^ot-[A-Za-z0-9_-]{40}$")


def test_generate_key_format() -> None:
    secret, prefix, key_hash = generate_key()
    assert SECRET.match(secret)
    assert prefix == secret[:10] and prefix.startswith("ot-")
    assert key_hash == hashlib.sha256(secret.encode()).hexdigest() == hash_key(secret)
    assert re.fullmatch(r"[0-9a-f]{64}", key_hash)


def test_secrets_are_unique() -> None:
    secrets = {generate_key()[0] for _ in range(2000)}
    assert len(secrets) == 2000


def test_hash_key_is_stable_and_distinguishes() -> None:
    assert hash_key("ot-abc") == hash_key("ot-abc") != hash_key("ot-abd")


def test_new_api_key_builds_the_record_and_returns_the_secret_once() -> None:
    at = datetime(2025, 1, 2, tzinfo=UTC)
    key, secret = new_api_key(
        "svc", owner="me", models=["google/*"], budget_usd=Decimal("3"), rpm=10, metadata={"a": "b"}, created_at=at
    )
    assert re.fullmatch(r"key_[0-9a-f]{16}", key.id)
    assert SECRET.match(secret) and key.prefix == secret[:10] and key.key_hash == hash_key(secret)
    assert secret not in repr(key)
    assert (key.name, key.owner, key.models, key.budget_usd, key.rpm, key.created_at) == (
        "svc",
        "me",
        ("google/*",),
        Decimal("3"),
        10,
        at,
    )
    assert key.allows("google/gemini-3-flash") and not key.allows("anthropic/claude-sonnet-4-5")
    assert new_api_key("svc")[0].id != key.id
