"""What the standard OpenTelemetry variables turn on (read by ``opentoken.settings.telemetry_settings``)."""

from __future__ import annotations

from dataclasses import dataclass


class TelemetryConfigError(ValueError):
    """The OTEL_* variables ask for something this gateway cannot do (raised at start-up)."""


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """What the standard OpenTelemetry variables turn on. Everything is off unless configured: a signal is
    exported when ``OTEL_{TRACES,METRICS}_EXPORTER`` names an exporter, or when an OTLP endpoint is set
    (``OTEL_EXPORTER_OTLP_ENDPOINT`` or the signal's own); ``OTEL_SDK_DISABLED=true`` turns all of it off.
    The SDK reads the rest of its variables itself (endpoint, headers, sampler, batch and export intervals)."""

    traces: tuple[str, ...] = ()  # exporters: "otlp" (HTTP/protobuf) and/or "console"
    metrics: tuple[str, ...] = ()
    capture_content: bool = False  # OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    service_name: str = "opentoken"

    @property
    def enabled(self) -> bool:
        return bool(self.traces or self.metrics)
