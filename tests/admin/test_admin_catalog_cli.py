"""``opentoken catalog ...`` on a SQLite file, and the admin commands publishing their changes on Redis."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from opentoken.admin.cli import register_commands
from opentoken.stores.base import CATALOG_CHANGED
from opentoken.stores.redis.bus import RedisBus
from support.redis_fixtures import require_redis
from support.servers import base_env

FLASH, HAIKU = "google/gemini-3-flash", "anthropic/claude-haiku-4-5"


@click.group()
def root() -> None:
    """Stands in for the top-level ``opentoken`` group."""


register_commands(root)


Invoke = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> Invoke:
    runner = CliRunner()
    obj = {"database_url": f"sqlite:///{tmp_path / 'cli.db'}", "redis_url": None}

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(root, list(args), obj=obj)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    invoke("migrate")
    return invoke


def as_json(result: Result) -> dict[str, Any]:
    return dict(json.loads(result.stdout))


def test_list_and_show(cli: Invoke) -> None:
    table = cli("catalog", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "STATE", "SOURCE"]
    assert any(line.split()[:2] == ["anthropic/claude-sonnet-4-5", "retired"] for line in table)
    listed = as_json(cli("catalog", "list", "--json"))["data"]
    assert {m["id"] for m in listed} >= {HAIKU, FLASH, "anthropic/claude-sonnet-4-5"}
    shown = cli("catalog", "show", "anthropic/claude-sonnet-4-5").stdout
    assert "retired             2026-11-30" in shown and "anthropic/claude-sonnet-4-6" in shown
    missing = cli("catalog", "show", "anthropic/nope", ok=False)
    assert missing.exit_code == 1 and "No model 'anthropic/nope'" in missing.output


def test_set_changes_a_model_and_adds_a_new_one(cli: Invoke) -> None:
    changed = as_json(
        cli(
            "catalog", "set", FLASH, "--capability", "vision=false", "--alias", "flash", "--alias", "fast",
            "--deprecated", "2027-01-01", "--successor", "google/gemini-3-pro", "--json",
        )
    )  # fmt: skip
    assert changed["capabilities"]["vision"] is False and changed["aliases"] == ["flash", "fast"]
    assert changed["lifecycle"]["deprecated"] == "2027-01-01"
    reset = as_json(cli("catalog", "set", FLASH, "--reset", "aliases", "--deprecated", "none", "--json"))
    assert reset["aliases"] == [] and reset["lifecycle"]["deprecated"] is None
    new = as_json(
        cli(
            "catalog", "set", "anthropic/claude-next", "--context-window", "300000", "--max-output-tokens", "32000",
            "--reasoning", "anthropic_adaptive", "--input", "2", "--output", "10", "--json",
        )
    )  # fmt: skip
    assert (new["state"], new["source"], new["prices"]["input"]) == ("active", "database", "2")


def test_set_errors_name_the_option(cli: Invoke) -> None:
    assert "--capability" in cli("catalog", "set", FLASH, "--capability", "vision", ok=False).output
    assert "--input and --output" in cli("catalog", "set", "anthropic/x", "--context-window", "9", ok=False).output
    assert "catalog price" in cli("catalog", "set", FLASH, "--input", "1", ok=False).output
    bad = cli("catalog", "set", FLASH, "--successor", "google/nope", ok=False)
    assert bad.exit_code == 1 and "(option --successor)" in bad.output
    conflict = cli("catalog", "set", FLASH, "--alias", "claude-haiku-4-5", ok=False)
    assert conflict.exit_code == 1 and "already a name of anthropic/claude-haiku-4-5" in conflict.output


def test_prices_are_added_scheduled_listed_and_cancelled(cli: Invoke) -> None:
    later = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    history = as_json(cli("catalog", "price", FLASH, "--input", "0.6", "--output", "3.5", "--json"))["data"]
    assert [(p["prices"]["input"], p["in_force"]) for p in history] == [("0.5", False), ("0.6", True)]
    cli("catalog", "price", FLASH, "--input", "1", "--output", "4", "--effective-from", later.isoformat())
    text = cli("catalog", "price", FLASH).stdout
    assert later.strftime("%Y-%m-%d %H:%M:%SZ") in text and "yes" in text
    past = cli("catalog", "price", FLASH, "--input", "1", "--output", "4", "--effective-from", "2020-01-01", ok=False)
    assert past.exit_code == 1 and "in the past" in past.output
    after = as_json(cli("catalog", "price", FLASH, "--cancel", later.isoformat(), "--json"))["data"]
    assert [p["prices"]["input"] for p in after] == ["0.5", "0.6"]


def test_disable_and_enable(cli: Invoke) -> None:
    assert as_json(cli("catalog", "disable", HAIKU, "--json"))["state"] == "disabled"
    assert "state               active" in cli("catalog", "enable", HAIKU).stdout


async def test_admin_commands_publish_their_changes_on_redis(tmp_path: Path) -> None:
    url = require_redis()
    got: list[str] = []
    listener = RedisBus.from_url(url)  # the gateway's channel, as every replica listens to it
    await listener.start(got.append)
    env = {**base_env(), "OPENTOKEN_DATABASE_URL": f"sqlite:///{tmp_path / 'pub.db'}", "OPENTOKEN_REDIS_URL": url}

    async def opentoken(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opentoken",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    async def heard(notice: str) -> None:
        deadline = time.monotonic() + 2
        while notice not in got:
            assert time.monotonic() < deadline, f"{notice!r} not published (heard {got})"
            await asyncio.sleep(0.01)

    try:
        await opentoken("migrate")
        key_id = json.loads(await opentoken("keys", "create", "--name", "pub", "--json"))["id"]
        await opentoken("keys", "revoke", key_id)
        await heard(key_id)
        await opentoken("catalog", "disable", HAIKU)
        await heard(CATALOG_CHANGED)
    finally:
        await listener.close()
