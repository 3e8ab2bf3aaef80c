"""Settings read by other names than ``OPENTOKEN_<NAME>``: each provider's credential and base URL, and
OpenTelemetry's standard variables."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opentoken.telemetry.config import TelemetryConfigError, TelemetrySettings


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    api_key: str | None
    base_url: str | None  # None = the provider's default (or the sandbox when there is no key)


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
