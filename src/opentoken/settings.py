"""Typed settings from the environment and an optional TOML config file (env wins).

This is the only module that reads the environment. Provider credentials are read by the variable names each
provider declares (``Provider.key_env_vars``) and ``OPENTOKEN_{PROVIDER}_BASE_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

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
    model_config = SettingsConfigDict(env_prefix="OPENTOKEN_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file in data_dir
    redis_url: str | None = None
    admin_key: str | None = None
    catalog_file: Path | None = None
    log_level: str = "info"
    proxy_headers: bool = False  # trust X-Forwarded-* (only behind a reverse proxy); off saves an ASGI layer
    max_body_bytes: int = 32 * 1024 * 1024
    replay_ttl_seconds: int = 7 * 24 * 3600
    key_cache_seconds: float = 1.0
    # remote media fetched by the gateway for providers that cannot fetch URLs themselves
    media_max_bytes: int = 20 * 1024 * 1024
    media_timeout_seconds: float = 10.0
    media_allow_hosts: list[str] = Field(default_factory=list)  # CIDRs / hosts exempt from the SSRF guard
    # routing and resilience
    max_attempts: int = 3
    retry_base_seconds: float = 0.25
    retry_max_seconds: float = 8.0
    cooldown_failures: int = 3  # consecutive retryable failures that put a deployment in cooldown
    cooldown_seconds: float = 30.0
    deployments: list[DeploymentConfig] = Field(default_factory=list)
    # timeouts for every model (a catalog entry's own ``timeouts`` table overrides them field by field)
    connect_timeout_seconds: float = Field(default=_TIMEOUTS.connect, gt=0)
    first_token_timeout_seconds: float = Field(default=_TIMEOUTS.first_token, gt=0)
    idle_timeout_seconds: float = Field(default=_TIMEOUTS.idle, gt=0)
    total_timeout_seconds: float = Field(default=_TIMEOUTS.total, gt=0)
    drain_seconds: float = 30.0  # on SIGTERM: how long in-flight requests and streams may take to finish
    # on SIGTERM, first keep serving this long with /readyz answering 503 (so load balancers stop sending),
    # then stop accepting connections and drain (docs/operations.md)
    shutdown_delay_seconds: float = Field(default=0.0, ge=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)  # per /readyz check (database, Redis)
    # operations: logs and metrics (docs/operations.md); tracing is configured by the standard OTEL_* variables
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True  # one line per request on the "opentoken.access" logger (INFO)
    metrics_token: str | None = None  # bearer token for GET /metrics (default: the admin key, if set)
    metrics_port: int | None = None  # serve /metrics on this port instead of the main one
    metrics_host: str | None = None  # interface for metrics_port (default: the main host)
    sandbox: bool | None = None  # None: use the sandbox for providers without a key

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


def load_settings(**overrides: Any) -> Settings:
    settings = Settings(**overrides)
    return settings


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
