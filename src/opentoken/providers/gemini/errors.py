"""Gemini error replies -> the GatewayError tree.

Gemini answers errors with a ``google.rpc.Status`` body, ``{"error": {"code", "message", "status",
"details"}}``, sometimes wrapped in a JSON array. The same object can arrive as a data event inside a stream.

| upstream                                             | GatewayError                  |
|------------------------------------------------------|-------------------------------|
| 400 with ErrorInfo reason ``API_KEY_INVALID``, 401, 403 | UpstreamCredentialsRejected (message names neither key nor client) |
| 404                                                  | UpstreamNotFound              |
| 429 (``RESOURCE_EXHAUSTED``)                         | UpstreamRateLimited, ``retry_after`` from RetryInfo ``retryDelay`` ("37s") or the ``retry-after`` header |
| 408, 504 (``DEADLINE_EXCEEDED``)                     | UpstreamTimeout               |
| 503 (``UNAVAILABLE``)                                | UpstreamOverloaded            |
| 500 and other 5xx                                    | UpstreamServerError           |
| other 4xx (``INVALID_ARGUMENT``, ``FAILED_PRECONDITION``...) | UpstreamBadRequest     |
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import msgspec

from opentoken.core.errors import (
    GatewayError,
    UpstreamBadRequest,
    UpstreamCredentialsRejected,
    UpstreamNotFound,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from opentoken.providers.gemini.wire import ErrorBody, ErrorStatus

_CREDENTIALS_MESSAGE = (
    "The upstream provider (google) rejected the gateway's credentials for this model. "
    "This is a gateway configuration problem, not a problem with your request or API key."
)
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
    """Map an HTTP error reply from Gemini onto the GatewayError tree."""
    return error_from_status(status, _read(body), headers)


def error_from_status(status: int, error: ErrorStatus | None, headers: Mapping[str, str] | None = None) -> GatewayError:
    """The GatewayError for HTTP ``status`` and the decoded Gemini ``error`` object (None if unreadable)."""
    message = error.message if error is not None and error.message else f"Gemini returned HTTP {status}."
    if status in (401, 403) or (status == 400 and _key_rejected(error)):
        return UpstreamCredentialsRejected(_CREDENTIALS_MESSAGE)
    if status == 404:
        return UpstreamNotFound(f"Gemini: {message}")
    if status == 429:
        return UpstreamRateLimited(f"Gemini: {message}", retry_after=_retry_after(error, headers or {}))
    if status in (408, 504):
        return UpstreamTimeout(f"Gemini: {message}")
    if status == 503:
        return UpstreamOverloaded(f"Gemini: {message}")
    if status >= 500:
        return UpstreamServerError(f"Gemini: {message}")
    if 400 <= status < 500:
        return UpstreamBadRequest(f"Gemini: {message}")
    return UpstreamServerError(f"Gemini: unexpected HTTP {status}: {message}")


def _read(body: bytes) -> ErrorStatus | None:
    try:
        return msgspec.json.decode(body, type=ErrorBody).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        wrapped = msgspec.json.decode(body, type=list[ErrorBody])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return wrapped[0].error if wrapped else None


def _key_rejected(error: ErrorStatus | None) -> bool:
    if error is None:
        return False
    if any(d.type.endswith("google.rpc.ErrorInfo") and d.reason in _KEY_REASONS for d in error.details):
        return True
    return "API key not valid" in error.message


def _retry_after(error: ErrorStatus | None, headers: Mapping[str, str]) -> float | None:
    for detail in error.details if error is not None else []:
        if detail.retry_delay:
            seconds = _seconds(detail.retry_delay.removesuffix("s"))
            if seconds is not None:
                return seconds
    header = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return _seconds(header) if header is not None else None


def _seconds(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
