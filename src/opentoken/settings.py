"""Typed settings from the environment and an optional TOML config file (env wins).

This is the only module that reads the environment. Provider credentials are read by the variable names each
provider declares (``Provider.key_env_vars``) and ``OPENTOKEN_{PROVIDER}_BASE_URL``.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from opentoken.catalog.lifecycle import RetiredPolicy
from opentoken.catalog.model import Timeouts
from opentoken.telemetry.config import TelemetryConfigError, TelemetrySettings


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    api_key: str | None
    base_url: str | None  # None = the provider's default (or the sandbox when there is no key)


_TIMEOUTS = Timeouts()


class DeploymentConfig(BaseModel):
    """One extra place a provider's models are served from (``[[deployments]]`` in the config file, or
    ``OPENTOKEN_DEPLOYMENTS`` as a JSON list). See docs/reliability.md."""

    provider: str  # "anthropic" | "google"
    name: str | None = None  # default "{provider}-{n}"; names the deployment in logs and in shared cooldowns
    base_url: str | None = None  # default: the provider's own API
    api_key_env: str | None = None  # variable holding the key; default: the provider's usual key variables
    weight: float = Field(default=1.0, gt=0)
    models: list[str] = Field(default_factory=list)  # fnmatch patterns on public ids; empty: all of the provider


class Settings(BaseSettings):
    """Every setting of the gateway. Environment variable ``OPENTOKEN_<NAME>`` or key ``<name>`` in the TOML file
    named by ``OPENTOKEN_CONFIG`` (the environment wins). The README's table is generated from these fields."""

    model_config = SettingsConfigDict(env_prefix="OPENTOKEN_", extra="ignore")

    host: str = Field("127.0.0.1", description="interface `serve` listens on")
    port: int = Field(8000, description="port `serve` listens on")
    workers: int | None = Field(
        None,
        ge=1,
        description="processes `serve` answers from on its one port; default: one per core this process may run "
        "on (1 with `memory://`); limits, budgets and the ledger stay exact across them (docs/deploy.md)",
    )
    data_dir: Path = Field(Path("data"), description="folder of the default SQLite database")
    database_url: str = Field(
        "",
        description="`sqlite:///path` or `postgresql://...` (keys, ledger, replay state); default: "
        "`sqlite:///<data_dir>/opentoken.db`, migrated on start",
    )
    redis_url: str | None = Field(
        None,
        description="`redis://...` for counters, reservations, cooldowns and key-change notices shared by replicas",
    )
    admin_key: str | None = Field(
        None, description="enables the admin API under `/admin/v1` (docs/admin-api.md) and the operator console"
    )
    catalog_file: Path | None = Field(
        None, description="a TOML file merged over the packaged catalog (same shape as `catalog/models.toml`)"
    )
    retired_models: RetiredPolicy = Field(
        "successor",
        description="a call to a retired model: `successor` (answered by its successor, said in a header) or "
        "`refuse` (410 `model_retired` naming the successor); see docs/catalog.md",
    )
    catalog_refresh_seconds: float = Field(
        0.5, gt=0, le=1.0, description="how often the catalog re-reads run-time changes (behind the bus notices)"
    )
    log_level: str = Field("info", description="debug, info, warning or error")
    proxy_headers: bool = Field(False, description="trust `X-Forwarded-*` (only behind a reverse proxy)")
    max_body_bytes: int = Field(32 * 1024 * 1024, description="largest request body accepted (413 above)")
    replay_ttl_seconds: int = Field(7 * 24 * 3600, description="how long stored provider state (thinking) is kept")
    key_cache_seconds: float = Field(1.0, description="how long a key lookup is cached (revocation delay bound)")
    media_max_bytes: int = Field(20 * 1024 * 1024, description="largest image the gateway fetches for a provider")
    media_timeout_seconds: float = Field(10.0, description="time limit for fetching one image URL")
    media_allow_hosts: list[str] = Field(
        default_factory=list,
        description="hosts / CIDRs exempt from the SSRF guard when fetching image URLs (JSON list)",
    )
    media_max_urls: int = Field(16, ge=0, description="image URLs one request may ask the gateway to fetch")
    media_max_total_bytes: int = Field(50 * 1024 * 1024, gt=0, description="all fetched media of one request")
    media_concurrency: int = Field(4, gt=0, description="image fetches at a time for one request")
    max_attempts: int = Field(3, description="upstream attempts per model before falling back")
    retry_base_seconds: float = Field(0.25, description="first retry backoff (exponential, full jitter)")
    retry_max_seconds: float = Field(8.0, description="longest retry backoff")
    cooldown_failures: int = Field(3, description="consecutive retryable failures that put a deployment in cooldown")
    cooldown_seconds: float = Field(30.0, description="how long a deployment cools down")
    deployments: list[DeploymentConfig] = Field(
        default_factory=list, description="extra deployments (JSON list; see docs/reliability.md)"
    )
    connect_timeout_seconds: float = Field(
        _TIMEOUTS.connect, gt=0, description="upstream connect timeout (a catalog entry may override timeouts)"
    )
    first_token_timeout_seconds: float = Field(_TIMEOUTS.first_token, gt=0, description="wait for the first token")
    idle_timeout_seconds: float = Field(_TIMEOUTS.idle, gt=0, description="longest gap between stream events")
    total_timeout_seconds: float = Field(_TIMEOUTS.total, gt=0, description="longest a request may take in all")
    max_header_bytes: int = Field(32 * 1024, ge=1024, description="request line and headers; larger: 431")
    request_header_timeout_seconds: float = Field(10.0, gt=0, description="slow senders: the head in this time or 408")
    request_body_timeout_seconds: float = Field(60.0, gt=0, description="slow senders: the body in this time or 408")
    stream_stall_seconds: float = Field(30.0, gt=0, description="a stream whose client reads nothing this long ends")
    drain_seconds: float = Field(30.0, description="on SIGTERM: how long requests and streams in flight may finish")
    sandbox: bool | None = Field(
        None, description="`true`: always the built-in sandbox; `false`: never; unset: for providers without a key"
    )
    sandbox_control: bool = Field(
        False, description="the embedded sandbox's control surface (`/_sandbox/*`, fault markers); off by default"
    )
    response_ttl_seconds: int = Field(
        30 * 24 * 3600, gt=0, description="how long stored responses (Responses API, `store: true`) are kept"
    )
    seal_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="keys sealing reasoning state handed to clients (`encrypted_content`): base64 of 32 random "
        "bytes each, comma-separated; the first seals, all open (rotation); unset: a key generated once and "
        "kept in the database",
    )
    console_session_hours: float = Field(12.0, gt=0, description="how long a web console sign-in lasts")
    session_secret: str | None = Field(
        None,
        description="signs the web console's session cookies; set the same value on every replica (default: "
        "random per process)",
    )
    cookie_secure: bool = Field(
        False, description="mark console cookies `Secure` even when the gateway sees plain HTTP (behind a TLS proxy)"
    )
    shutdown_delay_seconds: float = Field(
        0.0,
        ge=0,
        description="on SIGTERM, keep serving this long with `/readyz` answering 503 (so load balancers stop "
        "sending), then stop accepting and drain",
    )
    readiness_timeout_seconds: float = Field(2.0, gt=0, description="time limit of each `/readyz` check")
    log_format: Literal["text", "json"] = Field("text", description="log lines as readable text or JSON objects")
    access_log: bool = Field(True, description="one line per request on the `opentoken.access` logger (INFO)")
    metrics_token: str | None = Field(
        None, description="bearer token for `GET /metrics` (default: the admin key, when set)"
    )
    metrics_port: int | None = Field(None, description="serve `/metrics` on this port instead of the main one")
    metrics_host: str | None = Field(None, description="interface for `metrics_port` (default: the main host)")

    @field_validator("redis_url", "admin_key", "catalog_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """A variable set to an empty string (as templates and compose files leave them) counts as unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("seal_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """``OPENTOKEN_SEAL_KEYS=k1,k2`` or a JSON list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get("OPENTOKEN_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.connect_timeout_seconds,
            first_token=self.first_token_timeout_seconds,
            idle=self.idle_timeout_seconds,
            total=self.total_timeout_seconds,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opentoken.db').resolve()}"

    def resolved_workers(self) -> int:
        """How many processes ``serve`` runs: ``workers``, else one per core this process may run on (its CPU
        affinity, so ``taskset -c 0 opentoken serve`` is one process). One with ``memory://``, whose stores
        live in a process."""
        if self.resolved_database_url().strip() == "memory://":
            return 1
        if self.workers is not None:
            return self.workers
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return len(cores) if cores else os.cpu_count() or 1


def load_settings(**overrides: Any) -> Settings:
    settings = Settings(**overrides)
    return settings


# ---- what the settings are, where each came from, and what was given but is not a setting ----

Source = Literal["default", "file", "environment", "command line"]
_SECRET_WORDS = ("_key", "_keys", "secret", "password", "_token")  # names that end so hold a secret
ALWAYS_KNOWN = ("OPENTOKEN_CONFIG",)  # read before the settings themselves


@dataclass(frozen=True, slots=True)
class SettingValue:
    name: str
    variable: str
    value: str  # secrets masked
    source: Source
    description: str


def env_name(field: str) -> str:
    return f"OPENTOKEN_{field.upper()}"


def config_file(env: Mapping[str, str] | None = None) -> tuple[Path | None, dict[str, Any]]:
    """The TOML file named by ``OPENTOKEN_CONFIG`` and its contents (empty when there is none)."""
    name = env_value("OPENTOKEN_CONFIG", env)
    if name is None:
        return None, {}
    path = Path(name)
    with path.open("rb") as f:
        return path, tomllib.load(f)


def _masked(name: str, value: object) -> str:
    if value is None:
        return ""
    text = (
        value if isinstance(value, str) else json.dumps(value, default=str) if isinstance(value, list) else str(value)
    )
    if name.endswith(_SECRET_WORDS):
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
    for name, field in Settings.model_fields.items():
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
        rows.append(
            SettingValue(name, variable, _masked(name, getattr(settings, name)), origin, field.description or "")
        )
    return rows


def unknown_settings(env: Mapping[str, str] | None = None, known: Iterable[str] = ()) -> list[str]:
    """What was given but is no setting: ``OPENTOKEN_*`` variables and config-file keys (a typo like
    ``redis_ulr`` would otherwise be silently ignored), each with the closest real name. ``known`` are other
    variables the gateway reads (provider base URLs)."""
    source_env = os.environ if env is None else env
    fields = list(Settings.model_fields)
    variables = {env_name(f) for f in fields} | set(ALWAYS_KNOWN) | set(known)
    problems = []
    for var in sorted(v for v in source_env if v.startswith("OPENTOKEN_") and v not in variables):
        problems.append(f"unknown environment variable {var}" + _hint(var, sorted(variables)))
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
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = _masked(name, default) if default not in (None, "", []) else "unset"
        lines.append(f"| `{env_name(name)}` | `{shown}` | {field.description or ''} |")
    return "\n".join(lines)


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of one environment variable (empty counts as unset)."""
    value = (os.environ if env is None else env).get(name)
    return value or None


def provider_settings(
    name: str,
    key_env_vars: Iterable[str],
    base_url_vars: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> ProviderSettings:
    """The credential and base URL of provider ``name`` from the first set variable of each list."""
    source = os.environ if env is None else env
    key = next((source[v] for v in key_env_vars if source.get(v)), None)
    names = (f"OPENTOKEN_{name.upper()}_BASE_URL", *base_url_vars)
    base = next((source[v] for v in names if source.get(v)), None)
    return ProviderSettings(api_key=key, base_url=base)


TELEMETRY_EXPORTERS = ("otlp", "console")
_TRUE = ("1", "true", "yes", "on")


def _exporters(env: Mapping[str, str], signal: str) -> tuple[str, ...]:
    explicit = env.get(f"OTEL_{signal}_EXPORTER", "").strip()
    if explicit:
        names = tuple(n.strip().lower() for n in explicit.split(",") if n.strip().lower() not in ("", "none"))
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"):
        names = ("otlp",)
    else:
        return ()
    unknown = [n for n in names if n not in TELEMETRY_EXPORTERS]
    if unknown:
        raise TelemetryConfigError(
            f"OTEL_{signal}_EXPORTER: unsupported exporter {unknown[0]!r} (supported: otlp, console, none)"
        )
    if "otlp" in names:
        var = next(
            (v for v in (f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") if env.get(v)), ""
        )
        protocol = env.get(var, "").strip() if var else ""
        if protocol and protocol != "http/protobuf":
            raise TelemetryConfigError(f"{var}={protocol}: only http/protobuf is supported")
    return names


def telemetry_settings(env: Mapping[str, str] | None = None) -> TelemetrySettings:
    source = os.environ if env is None else env
    if source.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return TelemetrySettings()
    capture = source.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() in _TRUE
    return TelemetrySettings(
        traces=_exporters(source, "TRACES"),
        metrics=_exporters(source, "METRICS"),
        capture_content=capture,
        service_name=source.get("OTEL_SERVICE_NAME", "").strip() or "opentoken",
    )
