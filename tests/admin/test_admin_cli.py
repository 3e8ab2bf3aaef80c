"""The admin CLI on a SQLite file: the secret is the last line (or in --json), listings show prefixes only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from opentoken.admin.cli import register_commands
from opentoken.auth.keys import hash_key
from opentoken.stores.base import ApiKey, UsageRecord
from opentoken.stores.factory import open_stores
from opentoken.stores.sql.migrate import HEAD_REVISION


@click.group()
def root() -> None:
    """Stands in for the top-level ``opentoken`` group."""


register_commands(root)
Invoke = Callable[..., Result]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(db_url: str) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(root, list(args), obj={"database_url": db_url})
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


def stored(db_url: str, secret: str) -> ApiKey | None:
    async def lookup() -> ApiKey | None:
        stores = await open_stores(db_url, migrate=False)
        try:
            return await stores.keys.get_by_hash(hash_key(secret))
        finally:
            await stores.close()

    return asyncio.run(lookup())


def test_create_prints_the_secret_last_and_alone(cli: Invoke, db_url: str) -> None:
    result = cli(
        "keys", "create", "--name", "alice", "--owner", "team-a",
        "--models", "google/*", "--models", "anthropic/claude-*",
        "--budget-usd", "12.5", "--budget-period", "monthly", "--rpm", "60", "--tpm", "100000",
        "--max-concurrent", "4", "--expires-at", "2030-01-01", "--metadata", "env=prod", "--metadata", "tier=gold",
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("ot-") and len(secret) == 43 and " " not in secret
    key = stored(db_url, secret)
    assert key is not None and key.name == "alice" and key.models == ("google/*", "anthropic/claude-*")
    assert (key.budget_usd, key.budget_period, key.rpm, key.tpm, key.max_concurrent) == (
        Decimal("12.5"),
        "monthly",
        60,
        100000,
        4,
    )
    assert key.expires_at == datetime(2030, 1, 1, tzinfo=UTC) and dict(key.metadata) == {"env": "prod", "tier": "gold"}


def test_create_json_has_id_and_key(cli: Invoke, db_url: str) -> None:
    data = json.loads(cli("keys", "create", "--name", "bob", "--json").stdout)
    assert data["id"].startswith("key_") and data["key"].startswith("ot-")
    key = stored(db_url, data["key"])
    assert key is not None and key.id == data["id"]


def test_list_and_show_never_print_the_secret(cli: Invoke) -> None:
    created = json.loads(cli("keys", "create", "--name", "carol", "--budget-usd", "5", "--json").stdout)
    table = cli("keys", "list").stdout
    assert created["key"] not in table and created["prefix"] in table and "carol" in table
    listed = json.loads(cli("keys", "list", "--json").stdout)["data"]
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    shown = cli("keys", "show", created["id"]).stdout
    assert created["key"] not in shown and "spend_usd" in shown and "budget_remaining_usd  5" in shown
    detail = json.loads(cli("keys", "show", created["id"], "--json").stdout)
    assert (detail["spend_usd"], detail["budget_remaining_usd"]) == ("0", "5")


def test_update_revoke_rotate(cli: Invoke, db_url: str) -> None:
    created = json.loads(cli("keys", "create", "--name", "dave", "--owner", "o", "--rpm", "5", "--json").stdout)
    updated = json.loads(cli("keys", "update", created["id"], "--rpm", "7", "--clear", "owner", "--json").stdout)
    assert (updated["rpm"], updated["owner"], updated["name"]) == (7, None, "dave")

    rotated = cli("keys", "rotate", created["id"]).stdout.strip().splitlines()[-1]
    assert rotated.startswith("ot-") and rotated != created["key"]
    assert stored(db_url, created["key"]) is None
    assert stored(db_url, rotated) is not None

    assert "Revoked" in cli("keys", "revoke", created["id"]).stdout
    key = stored(db_url, rotated)
    assert key is not None and key.revoked_at is not None
    again = cli("keys", "rotate", created["id"], ok=False)
    assert again.exit_code == 1 and "revoked" in again.output


def test_errors_are_reported_with_the_option(cli: Invoke) -> None:
    missing = cli("keys", "show", "key_nope", ok=False)
    assert missing.exit_code == 1 and "No key with id 'key_nope'" in missing.output
    bad = cli("keys", "create", "--name", "x", "--rpm", "0", ok=False)
    assert bad.exit_code == 2 and "--rpm" in bad.output
    bad_meta = cli("keys", "create", "--name", "x", "--metadata", "novalue", ok=False)
    assert bad_meta.exit_code == 2 and "KEY=VALUE" in bad_meta.output
    both = cli("keys", "update", "key_x", "--rpm", "1", "--clear", "rpm", ok=False)
    assert both.exit_code == 2 and "set and clear" in both.output
    assert json.loads(cli("keys", "list", "--json").stdout)["data"] == []


def _records() -> list[UsageRecord]:
    at = datetime(2025, 8, 1, 9, tzinfo=UTC)
    common: dict[str, Any] = {"upstream_model": "m", "created_at": at, "status": 200, "stream": False}
    return [
        UsageRecord("r1", "key_a", "google/gemini-3-flash", "google", input_tokens=100, cost=Decimal("0.01"), **common),
        UsageRecord("r2", "key_a", "google/gemini-3-flash", "google", output_tokens=7, cost=Decimal("0.02"), **common),
        UsageRecord("r3", "key_b", "anthropic/claude-sonnet-4-5", "anthropic", cost=Decimal("1.5"), **common),
    ]


def test_usage_table_and_json(cli: Invoke, db_url: str) -> None:
    cli("migrate")

    async def seed() -> None:
        stores = await open_stores(db_url, migrate=False)
        await stores.ledger.append_many(_records())
        await stores.close()

    asyncio.run(seed())
    lines = cli("usage").stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["KEY", "MODEL", "REQUESTS"]
    assert lines[1].split()[:3] == ["key_a", "google/gemini-3-flash", "2"] and "0.03" in lines[1]
    assert lines[-1].split()[0] == "TOTAL" and "1.53" in lines[-1]
    data = json.loads(cli("usage", "--json", "--group-by", "provider", "--since", "2025-08-01").stdout)
    assert [(r["group"]["provider"], r["cost"]) for r in data["data"]] == [("anthropic", "1.5"), ("google", "0.03")]
    totals = json.loads(cli("usage", "--json", "--group-by", "none", "--key", "key_a").stdout)
    assert (totals["total"]["requests"], totals["total"]["input_tokens"], totals["total"]["output_tokens"]) == (
        2,
        100,
        7,
    )
    assert json.loads(cli("usage", "--json", "--until", "2025-08-01").stdout)["total"]["requests"] == 0
    assert cli("usage", "--group-by", "week", ok=False).exit_code == 2


def test_migrate_reports_the_revision(cli: Invoke) -> None:
    assert f"revision {HEAD_REVISION}" in cli("migrate").stdout


def test_database_url_comes_from_settings_without_obj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("OPENTOKEN_DATABASE_URL", url)
    result = CliRunner().invoke(root, ["keys", "create", "--name", "env", "--json"])
    assert result.exit_code == 0, result.output
    assert stored(url, json.loads(result.stdout)["key"]) is not None
