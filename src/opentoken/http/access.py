"""The access log (one line per request) and the log format of the whole process (text or JSON).

The line is an ``AccessLine`` built from the request's ``RequestRecord`` and nothing else: no header, no
body, no query string reaches it, so a key or a prompt cannot be logged by accident (redacted by
construction). ``OPENTOKEN_LOG_FORMAT=json`` writes every log line of the process as one JSON object (the
access line's fields at the top level); ``text`` writes ``time level logger: message`` with the access line
as ``key=value`` pairs. ``OPENTOKEN_ACCESS_LOG=false`` turns the access line off.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import msgspec
import orjson

from opentoken.core.context import LOG_FORMAT, RequestIdFilter
from opentoken.telemetry.record import RequestRecord

ACCESS_LOGGER = "opentoken.access"
TEXT_FORMAT = LOG_FORMAT  # time, level, logger, [request id]: message
_PLAIN = re.compile(r"[A-Za-z0-9_./:@{}+-]*")
_MAX_PATH = 256


class AccessLine(msgspec.Struct, omit_defaults=True):
    """One request, as the access log writes it (fields left out when unknown)."""

    request_id: str
    method: str
    path: str
    status: int
    latency_ms: float
    key_id: str | None = None
    ingress: str | None = None
    model: str | None = None  # requested
    answered_model: str | None = None  # the model that answered (a fallback may differ)
    provider: str | None = None
    deployment: str | None = None
    stream: bool | None = None
    error: str | None = None
    attempts: int | None = None
    input_tokens: int | None = None  # the whole prompt, cache reads and writes included
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    output_tokens: int | None = None  # reasoning included
    reasoning_tokens: int | None = None
    cost_usd: str | None = None  # exact decimal
    ttft_ms: float | None = None
    trace_id: str | None = None

    @classmethod
    def of(cls, record: RequestRecord, status: int, seconds: float) -> AccessLine:
        line = cls(
            request_id=record.request_id,
            method=record.method,
            path=record.path[:_MAX_PATH],
            status=status,
            latency_ms=round(seconds * 1000, 2),
            key_id=record.key_id,
            ingress=record.ingress,
            model=record.model,
            answered_model=record.response_model,
            provider=record.provider,
            deployment=record.deployment,
            stream=record.stream,
            error=record.error_code,
            attempts=record.attempts if record.metered else None,
            cost_usd=str(record.cost) if record.cost is not None else None,
            ttft_ms=round(record.ttft * 1000, 2) if record.ttft is not None else None,
        )
        usage = record.usage
        if usage is not None:
            line.input_tokens, line.output_tokens = usage.prompt_tokens, usage.output_tokens
            line.cache_read_tokens, line.cache_write_tokens = usage.cache_read_tokens, usage.cache_write_tokens
            line.reasoning_tokens = usage.reasoning_tokens
        span = record.server_span
        if span is not None:
            line.trace_id = format(span.get_span_context().trace_id, "032x")
        return line

    def text(self) -> str:
        """``key=value`` pairs; a value with anything but plain characters is JSON-quoted (one line, always)."""
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                shown = "true" if value else "false"
            elif isinstance(value, int | float):
                shown = str(value)
            else:
                shown = value if _PLAIN.fullmatch(value) and value else orjson.dumps(value).decode()
            parts.append(f"{name}={shown}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """Every log record as one JSON object: time, level, logger, message (or the access line's fields)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if isinstance(access, AccessLine):
            out["message"] = "request"
            out.update(msgspec.to_builtins(access))
        else:
            out["message"] = record.getMessage()
            request_id = getattr(record, "request_id", None)  # set by a request-id log filter, when installed
            if isinstance(request_id, str) and request_id != "-":
                out["request_id"] = request_id
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure_logging(level: str, log_format: str) -> None:
    """The process's log handler: text (the default) or JSON lines, on stderr; every line carries the id of
    the request it was written for (``core.context``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def write_access_line(logger: logging.Logger, record: RequestRecord, status: int, seconds: float) -> None:
    if logger.isEnabledFor(logging.INFO):
        line = AccessLine.of(record, status, seconds)
        logger.info("%s", line.text(), extra={"access": line})
