"""OpenTelemetry for one app: the tracer (server, client, admission and ledger spans) and the GenAI metrics.

``open_telemetry`` returns None unless ``TelemetrySettings`` (the standard ``OTEL_*`` variables) turn a
signal on, and every caller checks for None first, so a gateway without OpenTelemetry configured creates no
span and records no OpenTelemetry metric. The SDK's providers are this app's own (the global providers are
left alone, so two apps in one process do not share them); the W3C propagator is the global one
(``OTEL_PROPAGATORS``, default ``tracecontext,baggage``).

Spans follow the GenAI semantic conventions: ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.*``, ``gen_ai.usage.*``, ``error.type``, plus ``opentoken.*``
attributes (key id, cost, attempt, deployment, request id). Content (``gen_ai.input.messages`` and
``gen_ai.output.messages``) is recorded only with ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer

from opentoken.telemetry.config import TelemetrySettings
from opentoken.telemetry.record import RequestRecord, end_upstream_span, usage_attributes

if TYPE_CHECKING:  # the SDK is imported only when a signal is configured
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

OPERATION = "chat"
# advised bucket boundaries from the GenAI metric conventions
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))


def _version() -> str:
    try:
        return version("opentoken")
    except PackageNotFoundError:
        return "unknown"


def _span_exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(name: str) -> MetricExporter:
    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


@dataclass(frozen=True, slots=True)
class GenAIMetrics:
    duration: Histogram
    ttft: Histogram
    per_token: Histogram
    tokens: Histogram

    @classmethod
    def create(cls, meter: Meter) -> GenAIMetrics:
        return cls(
            duration=meter.create_histogram(
                "gen_ai.server.request.duration",
                unit="s",
                description="Generative AI server request duration",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            ),
            ttft=meter.create_histogram(
                "gen_ai.server.time_to_first_token",
                unit="s",
                description="Time to generate the first token, for successful responses",
                explicit_bucket_boundaries_advisory=_TTFT_BUCKETS,
            ),
            per_token=meter.create_histogram(
                "gen_ai.server.time_per_output_token",
                unit="s",
                description="Time per output token generated after the first, for successful responses",
                explicit_bucket_boundaries_advisory=_TPOT_BUCKETS,
            ),
            tokens=meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Tokens used, by gen_ai.token.type",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            ),
        )


class Telemetry:
    """The OpenTelemetry side of one app (see the module docstring). ``tracer`` or ``genai`` may be None when
    only the other signal is configured."""

    def __init__(self, settings: TelemetrySettings) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": settings.service_name, "service.version": _version()})
        self.capture_content = settings.capture_content
        self._tracer_provider: TracerProvider | None = None
        self._meter_provider: MeterProvider | None = None
        self.tracer: Tracer | None = None
        self.genai: GenAIMetrics | None = None
        if settings.traces:
            self._tracer_provider = TracerProvider(resource=resource)
            for name in settings.traces:
                self._tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(name)))
            self.tracer = self._tracer_provider.get_tracer("opentoken", _version())
        if settings.metrics:
            readers = [PeriodicExportingMetricReader(_metric_exporter(name)) for name in settings.metrics]
            self._meter_provider = MeterProvider(metric_readers=readers, resource=resource)
            self.genai = GenAIMetrics.create(self._meter_provider.get_meter("opentoken", _version()))

    def server_span(self, headers: Iterable[tuple[bytes, bytes]], method: str, path: str) -> Span | None:
        """The request's SERVER span, continuing the client's W3C ``traceparent`` when it sent one."""
        if self.tracer is None:
            return None
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _PROPAGATION_HEADERS}
        parent = propagate.extract(carrier) if carrier else Context()
        return self.tracer.start_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )

    def finish(self, record: RequestRecord, duration: float) -> None:
        """The request is over: end its spans and record the GenAI metrics."""
        if record.upstream_span is not None:  # a stream cut short: the answering attempt ends here
            span, record.upstream_span = record.upstream_span, None
            end_upstream_span(span, record, record.usage)
        if record.server_span is not None:
            _end_server_span(record.server_span, record)
        if self.genai is not None and record.model is not None:
            _record_metrics(self.genai, record, duration)

    async def close(self) -> None:
        """Flush what is buffered and stop the exporters (the SDK's calls block: run them off the loop)."""
        for provider in (self._tracer_provider, self._meter_provider):
            if provider is not None:
                await asyncio.to_thread(provider.shutdown)


_PROPAGATION_HEADERS = frozenset((b"traceparent", b"tracestate", b"baggage"))


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's W3C trace context (``traceparent``, ``tracestate``) to outgoing ``headers``."""
    propagate.inject(headers)


def error_type(status: int | None, code: str | None) -> str | None:
    if code:
        return code
    if status is not None and status >= 400:
        return str(status)
    return None


def _common(record: RequestRecord) -> dict[str, str]:
    attrs = {"gen_ai.operation.name": OPERATION}
    if record.provider_semconv:
        attrs["gen_ai.provider.name"] = record.provider_semconv
    if record.model:
        attrs["gen_ai.request.model"] = record.model
    if record.response_model:
        attrs["gen_ai.response.model"] = record.response_model
    return attrs


def _end_server_span(span: Span, record: RequestRecord) -> None:
    if not span.is_recording():  # not sampled: nothing to describe
        span.end()
        return
    attrs: dict[str, str | int | float | bool | list[str]] = {"opentoken.request.id": record.request_id}
    if record.status is not None:
        attrs["http.response.status_code"] = record.status
    if record.key_id:
        attrs["opentoken.key.id"] = record.key_id
    if record.ingress:
        attrs["opentoken.ingress"] = record.ingress
    if record.model is not None:
        span.update_name(f"{OPERATION} {record.model}")
        attrs.update(_common(record))
        attrs["opentoken.attempts"] = record.attempts
        if record.stream is not None:
            attrs["gen_ai.request.stream"] = record.stream
        if record.deployment:
            attrs["opentoken.deployment"] = record.deployment
        if record.response_id:
            attrs["gen_ai.response.id"] = record.response_id
        if record.finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = list(record.finish_reasons)
        if record.usage is not None:
            attrs.update(usage_attributes(record.usage))
        if record.cost is not None:
            attrs["opentoken.cost.usd"] = float(record.cost)
        if record.ttft is not None:
            attrs["opentoken.time_to_first_token"] = record.ttft
    error = error_type(record.status, record.error_code)
    if error is not None:
        attrs["error.type"] = error
    span.set_attributes(attrs)
    if record.status is None or record.status >= 500 or (record.error_code and record.status == 200):
        span.set_status(StatusCode.ERROR, error)
    span.end()


def _record_metrics(genai: GenAIMetrics, record: RequestRecord, duration: float) -> None:
    attrs: dict[str, str] = _common(record)
    error = error_type(record.status, record.error_code)
    if error is not None:
        attrs["error.type"] = error
    genai.duration.record(duration, attrs)
    if error is not None:
        return
    if record.stream and record.ttft is not None:
        genai.ttft.record(record.ttft, attrs)
        output = record.usage.output_tokens if record.usage is not None else 0
        if output > 1:
            genai.per_token.record((duration - record.ttft) / (output - 1), attrs)
    if record.usage is not None:
        genai.tokens.record(record.usage.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
        genai.tokens.record(record.usage.output_tokens, {**attrs, "gen_ai.token.type": "output"})


def attempt_attributes(
    *,
    provider_semconv: str,
    upstream_model: str,
    deployment: str,
    base_url: str,
    attempt: int,
    stream: bool | None,
) -> dict[str, str | int | bool]:
    """Attributes of one upstream attempt's CLIENT span (``server.*`` from the deployment's base URL)."""
    host, port = _server_of(base_url)
    attrs: dict[str, str | int | bool] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": provider_semconv,
        "gen_ai.request.model": upstream_model,
        "opentoken.deployment": deployment,
        "opentoken.attempt": attempt,
        "server.address": host,
        "server.port": port,
    }
    if stream is not None:
        attrs["gen_ai.request.stream"] = stream
    return attrs


@functools.lru_cache(maxsize=256)
def _server_of(base_url: str) -> tuple[str, int]:
    url = urlsplit(base_url)
    return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)


def open_telemetry(settings: TelemetrySettings) -> Telemetry | None:
    return Telemetry(settings) if settings.enabled else None
