"""The settings from their sources: defaults < the TOML file named by ``OPENTOKEN_CONFIG`` < the environment
(``OPENTOKEN_<NAME>``, in upper case) < the command line. One ``msgspec.convert`` checks and converts the
merged values; a value it refuses is a ``SettingsError`` that names where it was given.

From the environment: an empty variable counts as unset; lists and ``deployments`` are JSON; ``seal_keys`` is
comma-separated (or a JSON list); a flag takes 1/0, true/false, yes/no, on/off.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from opentoken.settings.model import Secret, Settings

_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})
_SECRET_WORDS = ("_key", "_keys", "secret", "password", "_token")  # names that end so hold a secret
_EMPTY_IS_UNSET = frozenset({"redis_url", "admin_key", "catalog_file"})  # "" in the file, too (templates leave it)


class SettingsError(ValueError):
    """A setting given a value it cannot take; the message names where it was given (variable, file key or
    command-line option) and what is wrong."""


@dataclass(frozen=True, slots=True)
class SettingField:
    name: str
    annotation: Any  # the field's type, without its ``Annotated`` metadata
    default: Any
    description: str

    @property
    def is_flag(self) -> bool:
        return self.annotation is bool or self.annotation == (bool | None)

    @property
    def is_json(self) -> bool:
        """Given as JSON in the environment (a list, or a list of tables)."""
        return typing.get_origin(self.annotation) is list


@functools.cache
def setting_fields() -> tuple[SettingField, ...]:
    """Every setting, in declaration order."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    out = []
    for f in msgspec.structs.fields(Settings):
        hint = hints[f.name]
        meta = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, msgspec.Meta)]
        default = f.default_factory() if f.default is msgspec.NODEFAULT else f.default
        bare = typing.get_args(hint)[0] if meta else hint
        out.append(SettingField(f.name, bare, default, meta[0].description or "" if meta else ""))
    return tuple(out)


def is_secret(name: str) -> bool:
    """Whether setting ``name`` holds a secret (never shown)."""
    return name.endswith(_SECRET_WORDS)


def env_name(field: str) -> str:
    return f"OPENTOKEN_{field.upper()}"


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of one environment variable (empty counts as unset)."""
    value = (os.environ if env is None else env).get(name)
    return value or None


def config_file(env: Mapping[str, str] | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The TOML file named by ``OPENTOKEN_CONFIG`` and its contents (empty when there is none)."""
    name = env_value("OPENTOKEN_CONFIG", env)
    if name is None:
        return None, {}
    path = Path(name)
    try:
        with path.open("rb") as f:
            return path, tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"OPENTOKEN_CONFIG={name}: cannot read the config file: {exc}") from exc


def _from_env(field: SettingField, variable: str, raw: str) -> object:
    """One environment value, as ``msgspec.convert`` takes it (strings it converts itself: numbers, paths)."""
    text = raw.strip()
    if field.name == "seal_keys" and not text.startswith("["):
        return [k.strip() for k in text.split(",") if k.strip()]
    if field.is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{variable}: expected a JSON list, got {raw!r} ({exc})") from exc
    if field.is_flag:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"{variable}: expected a flag (1/0, true/false, yes/no, on/off), got {raw!r}")
    return raw


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")  # msgspec reports it with the field's path


def load_settings(**overrides: Any) -> Settings:
    """The settings from the config file, ``os.environ`` and ``overrides`` (the command line's options, by
    setting name), checked; ``SettingsError`` on a bad value."""
    return read_settings(os.environ, overrides)


def read_settings(source: Mapping[str, str], overrides: Mapping[str, Any]) -> Settings:
    """The settings from the config file named in ``source``, ``source`` (an environment) and ``overrides``."""
    fields = {f.name: f for f in setting_fields()}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(f"load_settings: no such setting {unknown[0]!r}")
    path, data = config_file(source)
    values: dict[str, object] = {}
    where: dict[str, str] = {}
    for name, value in data.items():
        if name in fields:  # other keys are reported by ``unknown_settings``
            values[name], where[name] = value, f"{name} in {path}"
    for name, field in fields.items():
        variable = env_name(name)
        raw = source.get(variable)
        if raw is not None and raw.strip():
            shown = variable if is_secret(name) or field.is_json else f"{variable}={raw.strip()}"
            values[name], where[name] = _from_env(field, variable, raw), shown
    for name, value in overrides.items():
        values[name], where[name] = value, f"--{name.replace('_', '-')}"
    for name in _EMPTY_IS_UNSET & values.keys():
        value = values[name]
        if isinstance(value, str) and not value.strip():
            values[name] = None
    try:
        return msgspec.convert(values, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explained(str(exc), where)) from None


def _explained(message: str, where: dict[str, str]) -> str:
    """msgspec's ``Expected `int` >= 1 - at `$.workers``` as ``OPENTOKEN_WORKERS: expected `int` >= 1``."""
    found = re.search(r" - at `\$\.(\w+)(.*)`$", message)
    if found is None:
        return f"settings: {message}"
    name, rest = found.group(1), found.group(2)
    problem = message[: found.start()]
    inner = f" (at {name}{rest})" if rest else ""
    return f"{where.get(name, name)}: {problem[:1].lower()}{problem[1:]}{inner}"
