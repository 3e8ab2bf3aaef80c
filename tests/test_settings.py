"""Settings: the README's table is generated from the model, unknown names are reported, secrets are masked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from opentoken.settings import (
    Settings,
    SettingsError,
    explain,
    read_settings,
    setting_fields,
    settings_table,
    unknown_settings,
)
from support.servers import base_env

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    start = text.index("<!-- settings table")
    body = text[text.index("\n", start) + 1 : text.index("<!-- end of settings table -->")].strip()
    assert body == settings_table(), "README settings table drifted: paste opentoken.settings.settings_table()"


def test_every_setting_is_described() -> None:
    missing = [f.name for f in setting_fields() if not f.description]
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
    assert unknown_settings({"opentoken_port": "9000"}) == [
        "unknown environment variable opentoken_port (did you mean OPENTOKEN_PORT?)"
    ]
    assert read_settings({"opentoken_port": "9000"}, {}).port == 8000  # read in upper case only, and reported


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
    with pytest.raises(SettingsError, match=r"^--workers: expected `int` >= 1$"):
        read_settings({}, {"workers": 0})


def test_sources_merge_in_order_and_values_are_converted(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('port = 9000\nmax_attempts = 4\nredis_url = ""\n[[deployments]]\nprovider = "google"\n')
    env = {
        "OPENTOKEN_CONFIG": str(config),
        "OPENTOKEN_PORT": "9100",  # the environment wins over the file
        "OPENTOKEN_PROXY_HEADERS": "yes",
        "OPENTOKEN_DATA_DIR": "/srv/gw",
        "OPENTOKEN_MEDIA_ALLOW_HOSTS": '["10.0.0.0/8"]',
        "OPENTOKEN_SEAL_KEYS": " k1, k2 ",
        "OPENTOKEN_ADMIN_KEY": "",  # empty: unset
        "OPENTOKEN_RETRY_BASE_SECONDS": "0.5",
    }
    s = read_settings(env, {"max_attempts": 6})  # and the command line over both
    assert (s.port, s.max_attempts, s.proxy_headers, s.data_dir) == (9100, 6, True, Path("/srv/gw"))
    assert s.media_allow_hosts == ["10.0.0.0/8"] and s.retry_base_seconds == 0.5
    assert [k.get_secret_value() for k in s.seal_keys] == ["k1", "k2"]
    assert "k1" not in repr(s) and "k1" not in str(s.seal_keys)
    assert s.admin_key is None and s.redis_url is None
    assert [(d.provider, d.weight) for d in s.deployments] == [("google", 1.0)]
    assert read_settings({"OPENTOKEN_SEAL_KEYS": '["a", "b"]'}, {}).seal_keys[1].get_secret_value() == "b"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENTOKEN_PORT": "eighty"}, "OPENTOKEN_PORT=eighty: expected `int`, got `str`"),
        ({"OPENTOKEN_WORKERS": "0"}, "OPENTOKEN_WORKERS=0: expected `int` >= 1"),
        ({"OPENTOKEN_CATALOG_REFRESH_SECONDS": "5"}, "OPENTOKEN_CATALOG_REFRESH_SECONDS=5: expected `float` <= 1.0"),
        ({"OPENTOKEN_LOG_FORMAT": "xml"}, "OPENTOKEN_LOG_FORMAT=xml: invalid enum value 'xml'"),
        ({"OPENTOKEN_ACCESS_LOG": "maybe"}, "OPENTOKEN_ACCESS_LOG: expected a flag (1/0, true/false, yes/no, on/off)"),
        ({"OPENTOKEN_MEDIA_ALLOW_HOSTS": "10.0.0.0/8"}, "OPENTOKEN_MEDIA_ALLOW_HOSTS: expected a JSON list"),
        (
            {"OPENTOKEN_DEPLOYMENTS": '[{"provider": "google", "wieght": 2}]'},
            "OPENTOKEN_DEPLOYMENTS: object contains unknown field `wieght` (at deployments[0])",
        ),
        (
            {"OPENTOKEN_DEPLOYMENTS": '[{"provider": "google", "weight": 0}]'},
            "OPENTOKEN_DEPLOYMENTS: expected `float` > 0.0 (at deployments[0].weight)",
        ),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        read_settings(env, {})
    assert str(caught.value).startswith(message)


def test_a_bad_file_value_names_its_key_and_file_and_a_secret_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('port = "x"\n')
    with pytest.raises(SettingsError, match=rf"^port in {config}: expected `int`, got `str`$"):
        read_settings({"OPENTOKEN_CONFIG": str(config)}, {})
    with pytest.raises(SettingsError) as caught:
        read_settings({"OPENTOKEN_SEAL_KEYS": '["s3cr3t", 7]'}, {})
    assert "OPENTOKEN_SEAL_KEYS" in str(caught.value) and "s3cr3t" not in str(caught.value)
    config.write_text("port = [")
    with pytest.raises(SettingsError, match="cannot read the config file"):
        read_settings({"OPENTOKEN_CONFIG": str(config)}, {})


def test_serve_refuses_a_bad_value_with_one_line_and_status_1() -> None:
    env = {**base_env(), "OPENTOKEN_PORT": "eighty"}
    out = subprocess.run(
        [sys.executable, "-m", "opentoken", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: OPENTOKEN_PORT=eighty: expected `int`, got `str`"
