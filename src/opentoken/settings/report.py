"""What the settings are and where each came from (``opentoken config``), what was given but is no setting,
and the README's table of settings."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from opentoken.settings.load import config_file, env_name, is_secret, setting_fields
from opentoken.settings.model import Settings

Source = Literal["default", "file", "environment", "command line"]
ALWAYS_KNOWN = ("OPENTOKEN_CONFIG",)  # read before the settings themselves


@dataclass(frozen=True, slots=True)
class SettingValue:
    name: str
    variable: str
    value: str  # secrets masked
    source: Source
    description: str


def _masked(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = json.dumps(msgspec.to_builtins(value, enc_hook=str))  # a Secret's str is masked
    else:
        text = str(value)
    if is_secret(name):
        return "(set, hidden)" if text else ""
    if "://" in text:  # a URL may carry a password: keep scheme, user and host
        parts = urlsplit(text)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            text = parts._replace(netloc=netloc).geturl()
    return text


def explain(
    settings: Settings, env: Mapping[str, str] | None = None, overrides: Iterable[str] = ()
) -> list[SettingValue]:
    """Every setting with its effective value (secrets masked) and where it came from."""
    source_env = os.environ if env is None else env
    _, data = config_file(env)
    given = set(overrides)
    rows = []
    for field in setting_fields():
        name = field.name
        variable = env_name(name)
        origin: Source = (
            "command line"
            if name in given
            else "environment"
            if source_env.get(variable)
            else "file"
            if name in data
            else "default"
        )
        rows.append(SettingValue(name, variable, _masked(name, getattr(settings, name)), origin, field.description))
    return rows


def unknown_settings(env: Mapping[str, str] | None = None, known: Iterable[str] = ()) -> list[str]:
    """What was given but is no setting: ``OPENTOKEN_*`` variables and config-file keys (a typo like
    ``redis_ulr``, or a name in lower case, would otherwise be silently ignored), each with the closest real name. ``known`` are other
    variables the gateway reads (provider base URLs)."""
    source_env = os.environ if env is None else env
    fields = [f.name for f in setting_fields()]
    variables = {env_name(f) for f in fields} | set(ALWAYS_KNOWN) | set(known)
    problems = []
    for var in sorted(v for v in source_env if v.upper().startswith("OPENTOKEN_") and v not in variables):
        # names are read in upper case only: ``opentoken_port`` is reported, with the name that would count
        problems.append(f"unknown environment variable {var}" + _hint(var.upper(), sorted(variables)))
    path, data = config_file(env)
    for key in sorted(k for k in data if k not in fields):
        problems.append(f"unknown key {key!r} in {path}" + _hint(key, fields))
    return problems


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def settings_table() -> str:
    """The README's table of settings, generated from the model (a test keeps the README in step)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for field in setting_fields():
        name = field.name
        default = field.default
        shown = _masked(name, default) if default not in (None, "", []) else "unset"
        lines.append(f"| `{env_name(name)}` | `{shown}` | {field.description} |")
    return "\n".join(lines)
