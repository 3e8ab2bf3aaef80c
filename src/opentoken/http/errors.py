"""The outbound error edge: every GatewayError becomes one OpenAI ``ErrorResponse`` with its status."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from opentoken.api.response import error_json
from opentoken.core.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    UpstreamCredentialsRejected,
    UpstreamRateLimited,
)

log = logging.getLogger("opentoken.http")
_NO_RETRY = (QuotaExceeded, UpstreamCredentialsRejected, InvalidRequest)


def error_headers(err: GatewayError) -> dict[str, str]:
    headers = dict(err.headers)
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, round(err.retry_after)))
        headers["retry-after-ms"] = str(int(err.retry_after * 1000))
    if isinstance(err, _NO_RETRY):
        headers["x-should-retry"] = "false"
    elif isinstance(err, RateLimited | UpstreamRateLimited) or err.retryable:
        headers["x-should-retry"] = "true"
    return headers


def error_response(err: GatewayError) -> Response:
    body = error_json(err.message, err.type, err.param, err.code)
    return Response(body, status_code=err.status, headers=error_headers(err), media_type="application/json")


async def gateway_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    if exc.status >= 500:
        log.warning("request failed: %r", exc)
    return error_response(exc)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound(f"Unknown path {request.url.path}."))
    err = GatewayError(str(exc.detail), code="method_not_allowed" if exc.status_code == 405 else None)
    err.status, err.type = exc.status_code, "invalid_request_error"
    return error_response(err)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Last resort for a bug: log it with its traceback, answer an OpenAI-shaped 500 (no details leak)."""
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(GatewayError("The gateway hit an internal error. It has been logged."))
