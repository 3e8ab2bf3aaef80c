"""An OTLP/HTTP receiver for tests: a real HTTP server on 127.0.0.1 that decodes the protobuf export requests
(``/v1/traces``, ``/v1/metrics``) with the ``opentelemetry-proto`` package and keeps what it received."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _attrs(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value
    return getattr(v, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        assert isinstance(kv, KeyValue)
        out[kv.key] = _value(kv.value)
    return out


@dataclass
class ReceivedSpan:
    name: str
    kind: str  # SERVER, CLIENT, INTERNAL, ...
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status: str  # UNSET, OK, ERROR
    start_ns: int
    end_ns: int
    resource: dict[str, Any]


@dataclass
class DataPoint:
    metric: str
    unit: str
    attributes: dict[str, Any]
    count: int  # histograms: number of observations; sums: 0
    total: float  # histograms: sum of observations; sums and gauges: the value


@dataclass
class Receiver:
    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    metric_exports: list[list[DataPoint]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # every decoded request body, for secret scans
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_traces(self, req: ExportTraceServiceRequest) -> None:
        found = []
        for rs in req.resource_spans:
            resource = _attrs(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    found.append(
                        ReceivedSpan(
                            name=s.name,
                            kind=PbSpan.SpanKind.Name(s.kind).removeprefix("SPAN_KIND_"),
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_span_id=s.parent_span_id.hex(),
                            attributes=_attrs(s.attributes),
                            status=Status.StatusCode.Name(s.status.code).removeprefix("STATUS_CODE_"),
                            start_ns=s.start_time_unix_nano,
                            end_ns=s.end_time_unix_nano,
                            resource=resource,
                        )
                    )
        with self.lock:
            self.spans += found

    def add_metrics(self, req: ExportMetricsServiceRequest) -> None:
        points: list[DataPoint] = []
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    if kind == "histogram":
                        for p in m.histogram.data_points:
                            points.append(DataPoint(m.name, m.unit, _attrs(p.attributes), p.count, p.sum))
                    elif kind in ("sum", "gauge"):
                        for q in getattr(m, kind).data_points:
                            value = q.as_double if q.WhichOneof("value") == "as_double" else q.as_int
                            points.append(DataPoint(m.name, m.unit, _attrs(q.attributes), 0, value))
        with self.lock:
            self.metric_exports.append(points)

    def wait_for(self, found: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                result = found()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError("the OTLP receiver did not get what was expected in time")

    def trace_of(self, request_id: str, expect: int, timeout: float = 10.0) -> list[ReceivedSpan]:
        """Every span of the trace whose SERVER span has ``opentoken.request.id == request_id``, once ``expect``
        spans of it have arrived."""

        def found() -> list[ReceivedSpan] | None:
            server = [s for s in self.spans if s.attributes.get("opentoken.request.id") == request_id]
            if not server:
                return None
            trace = [s for s in self.spans if s.trace_id == server[0].trace_id]
            return trace if len(trace) >= expect else None

        trace: list[ReceivedSpan] = self.wait_for(found, timeout)
        time.sleep(0.2)  # nothing more may come
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace[0].trace_id]

    def latest_points(self, metric: str) -> list[DataPoint]:
        """The data points of ``metric`` in the newest export that has it (cumulative temporality)."""
        with self.lock:
            for export in reversed(self.metric_exports):
                points = [p for p in export if p.metric == metric]
                if points:
                    return points
        return []


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            with receiver.lock:
                receiver.raw.append(body)
            reply: bytes
            if self.path == "/v1/traces":
                receiver.add_traces(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
            elif self.path == "/v1/metrics":
                receiver.add_metrics(ExportMetricsServiceRequest.FromString(body))
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextlib.contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
