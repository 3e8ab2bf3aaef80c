"""GatewayError -> Anthropic's error shape and status.

``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``, with Anthropic's status
codes and error types:

    400 invalid_request_error   invalid requests, parameters a model cannot honour, provider 400s
    401 authentication_error    missing, unknown, revoked or expired key
    402 billing_error           the key's budget is spent (retrying will not help)
    403 permission_error        the key may not use the model
    404 not_found_error         unknown model (naming the nearest ids) or path
    413 request_too_large       the body is over the gateway's limit
    429 rate_limit_error        rate limits (``retry-after`` set)
    500 api_error               upstream failures and gateway faults
    504 timeout_error           the provider timed out
    529 overloaded_error        the provider or the gateway is overloaded

In a stream the same body is the data of an ``error`` event.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from opentoken.core.errors import (
    AuthenticationFailed,
    GatewayError,
    InvalidRequest,
    ModelNotFound,
    NotFound,
    Overloaded,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RequestTooLarge,
    UpstreamBadRequest,
    UpstreamNotFound,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamTimeout,
)

ENCODER = msgspec.json.Encoder(decimal_format="number")

# most specific first
_TABLE: tuple[tuple[type[GatewayError], int, str], ...] = (
    (RequestTooLarge, 413, "request_too_large"),
    (ModelNotFound, 404, "not_found_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (AuthenticationFailed, 401, "authentication_error"),
    (PermissionDenied, 403, "permission_error"),
    (NotFound, 404, "not_found_error"),
    (QuotaExceeded, 402, "billing_error"),
    (RateLimited, 429, "rate_limit_error"),
    (UpstreamRateLimited, 429, "rate_limit_error"),
    (Overloaded, 529, "overloaded_error"),
    (UpstreamOverloaded, 529, "overloaded_error"),
    (UpstreamTimeout, 504, "timeout_error"),
    (UpstreamBadRequest, 400, "invalid_request_error"),
    (UpstreamNotFound, 404, "not_found_error"),
)


class ErrorDetail(Struct):
    type: str
    message: str


class ErrorOut(Struct):
    error: ErrorDetail
    request_id: str | None = None
    type: Literal["error"] = "error"


def status_and_type(err: GatewayError) -> tuple[int, str]:
    for cls, status, kind in _TABLE:
        if isinstance(err, cls):
            return status, kind
    return 500, "api_error"


def error_json(err: GatewayError, message: str, request_id: str | None) -> bytes:
    _, kind = status_and_type(err)
    return ENCODER.encode(ErrorOut(ErrorDetail(kind, message), request_id))


def error_headers(err: GatewayError, request_id: str | None) -> dict[str, str]:
    """``retry-after`` for 429/529, ``x-should-retry`` as the Anthropic SDKs read it, ``request-id``."""
    headers = dict(err.headers)
    status, _ = status_and_type(err)
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, round(err.retry_after)))
    elif status == 429:
        headers["retry-after"] = "1"
    if status in (400, 401, 402, 403, 404, 413):
        headers["x-should-retry"] = "false"
    elif status in (429, 529) or err.retryable:
        headers["x-should-retry"] = "true"
    if request_id:
        headers["request-id"] = request_id
    return headers
