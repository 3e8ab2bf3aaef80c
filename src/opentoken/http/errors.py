"""The outbound error edge of the routes that are not an ingress (models, key, admin, metrics): every
GatewayError becomes one OpenAI ``ErrorResponse`` with its status. Ingress routes render their own errors
through their codec (``opentoken.http.endpoint``)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from opentoken.core.errors import GatewayError, NotFound
from opentoken.ingress.openai.errors import error_headers, error_json

log = logging.getLogger("opentoken.http")


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
