"""GatewayError -> OpenAI ``ErrorResponse`` body, HTTP status and headers (every OpenAI-shaped API)."""

from __future__ import annotations

import msgspec
from msgspec import Struct

from opentoken.core.errors import (
    GatewayError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    UpstreamCredentialsRejected,
    UpstreamRateLimited,
)

ENCODER = msgspec.json.Encoder(decimal_format="number")
_NO_RETRY = (QuotaExceeded, UpstreamCredentialsRejected, InvalidRequest)


class ErrorBody(Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(Struct):
    error: ErrorBody


def error_json(message: str, type: str, param: str | None, code: str | None) -> bytes:
    return ENCODER.encode(ErrorOut(ErrorBody(message=message, type=type, param=param, code=code)))


def error_headers(err: GatewayError) -> dict[str, str]:
    """``retry-after`` (seconds and ms) and ``x-should-retry``, which the OpenAI SDKs read."""
    headers = dict(err.headers)
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, round(err.retry_after)))
        headers["retry-after-ms"] = str(int(err.retry_after * 1000))
    if isinstance(err, _NO_RETRY):
        headers["x-should-retry"] = "false"
    elif isinstance(err, RateLimited | UpstreamRateLimited) or err.retryable:
        headers["x-should-retry"] = "true"
    return headers
