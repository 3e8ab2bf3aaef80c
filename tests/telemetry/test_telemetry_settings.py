"""OpenTelemetry is off unless the standard OTEL_* variables configure it."""

from __future__ import annotations

import pytest

from opentoken.settings import telemetry_settings
from opentoken.telemetry.config import TelemetryConfigError
from opentoken.telemetry.tracing import open_telemetry


def test_nothing_set_means_off() -> None:
    settings = telemetry_settings({})
    assert not settings.enabled and open_telemetry(settings) is None
    # the SDK's own variables alone (no exporter, no endpoint) do not turn it on either
    assert not telemetry_settings({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}).enabled


def test_an_endpoint_turns_on_otlp_for_both_signals() -> None:
    settings = telemetry_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert (settings.traces, settings.metrics) == (("otlp",), ("otlp",))
    assert settings.service_name == "opentoken" and not settings.capture_content


def test_signal_endpoints_and_exporters() -> None:
    only_traces = telemetry_settings({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert (only_traces.traces, only_traces.metrics) == (("otlp",), ())
    none = telemetry_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_METRICS_EXPORTER": "none"})
    assert (none.traces, none.metrics) == (("otlp",), ())
    console = telemetry_settings({"OTEL_TRACES_EXPORTER": "console,otlp"})
    assert console.traces == ("console", "otlp")


def test_sdk_disabled_wins() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}
    assert not telemetry_settings(env).enabled


def test_content_capture_is_opt_in() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    assert telemetry_settings(env).capture_content


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
    ],
)
def test_what_cannot_be_done_is_refused_at_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(TelemetryConfigError, match=named):
        telemetry_settings(env)
