"""Settings: the README's table is generated from the model, unknown names are reported, secrets are masked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from opentoken.settings import Settings, explain, settings_table, unknown_settings
from support.servers import base_env

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    start = text.index("<!-- settings table")
    body = text[text.index("\n", start) + 1 : text.index("<!-- end of settings table -->")].strip()
    assert body == settings_table(), "README settings table drifted: paste opentoken.settings.settings_table()"


def test_every_setting_is_described() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert not missing


def test_unknown_variables_and_file_keys_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('redis_ulr = "redis://x"\nport = 9000\n')
    env = {"OPENTOKEN_CONFIG": str(config), "OPENTOKEN_MAX_ATEMPTS": "4", "OPENTOKEN_PORT": "1"}
    problems = unknown_settings(env, known=["OPENTOKEN_GEMINI_BASE_URL"])
    assert problems == [
        "unknown environment variable OPENTOKEN_MAX_ATEMPTS (did you mean OPENTOKEN_MAX_ATTEMPTS?)",
        f"unknown key 'redis_ulr' in {config} (did you mean redis_url?)",
    ]
    assert unknown_settings({"OPENTOKEN_GEMINI_BASE_URL": "x"}, known=["OPENTOKEN_GEMINI_BASE_URL"]) == []


def test_sources_and_masking(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text("max_attempts = 5\n")
    env = {
        "OPENTOKEN_CONFIG": str(config),
        "OPENTOKEN_ADMIN_KEY": "super-secret",
        "OPENTOKEN_DATABASE_URL": "postgresql://app:hunter2@db:5432/gw",
    }
    settings = Settings(admin_key="super-secret", database_url=env["OPENTOKEN_DATABASE_URL"], max_attempts=5)
    rows = {r.name: r for r in explain(settings, env)}
    assert rows["admin_key"].source == "environment" and rows["admin_key"].value == "(set, hidden)"
    assert rows["database_url"].value == "postgresql://app:***@db:5432/gw"
    assert rows["max_attempts"].source == "file" and rows["max_attempts"].value == "5"
    assert rows["port"].source == "default"
    assert "super-secret" not in repr(list(rows.values())) and "hunter2" not in repr(list(rows.values()))


def test_config_command(tmp_path: Path) -> None:
    env = {
        **base_env(),
        "OPENTOKEN_REDIS_ULR": "redis://x",
        "OPENTOKEN_ADMIN_KEY": "s3cr3t-admin",
        "GEMINI_API_KEY": "g-key",
    }
    out = subprocess.run(
        [sys.executable, "-m", "opentoken", "config", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["problems"] == ["unknown environment variable OPENTOKEN_REDIS_ULR (did you mean OPENTOKEN_REDIS_URL?)"]
    assert {
        "name": "admin_key",
        "variable": "OPENTOKEN_ADMIN_KEY",
        "value": "(set, hidden)",
        "source": "environment",
    } in data["settings"]
    assert data["providers"]["GEMINI_API_KEY"] == "(set, hidden)"
    assert "s3cr3t-admin" not in out.stdout and "g-key" not in out.stdout


def test_serve_runs_one_worker_per_core_it_may_use_and_one_on_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert Settings(database_url="sqlite:///x.db").resolved_workers() == 3
    assert Settings(database_url="sqlite:///x.db", workers=2).resolved_workers() == 2
    assert Settings(database_url="memory://").resolved_workers() == 1
    with pytest.raises(ValueError):
        Settings(workers=0)
