"""Anthropic error replies (HTTP errors and in-stream ``error`` events) -> the GatewayError tree.

The HTTP status decides the class (wire-formats D.8, with the gateway's own choices below); the body's
``error.type`` decides it for in-stream errors, which arrive after a 200 and carry no status of their own.

- 401/403 (``authentication_error``/``permission_error``): the provider rejected the *gateway's*
  credentials. The client's key was fine, so this is ``UpstreamCredentialsRejected`` (502), and the
  provider's message is not repeated: it is about the gateway's account, never the client's.
- 402 (``billing_error``): a problem with the gateway's provider account: plain ``UpstreamError`` (502).
- 429 keeps the ``retry-after`` seconds; 529 (and 503) is ``UpstreamOverloaded``; 504 ``UpstreamTimeout``;
  other 5xx ``UpstreamServerError``; 413 ``RequestTooLarge``; 404 ``UpstreamNotFound``; every other 4xx
  ``UpstreamBadRequest`` with the provider's message (a too-long prompt gets code ``context_length_exceeded``
  as OpenAI uses).
- ``x-should-retry: false`` marks the error as not retryable whatever its class says.
- A body that is not Anthropic's error envelope still maps by status, with a generic message.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from opentoken.core.errors import (
    GatewayError,
    RequestTooLarge,
    UpstreamBadRequest,
    UpstreamCredentialsRejected,
    UpstreamError,
    UpstreamNotFound,
    UpstreamOverloaded,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from opentoken.providers.anthropic import wire

_CREDENTIALS_MESSAGE = (
    "The upstream provider (Anthropic) rejected the gateway's credentials ({kind}). This is a gateway "
    "configuration problem, not a problem with your API key; please contact the gateway operator."
)
_BILLING_MESSAGE = (
    "The upstream provider (Anthropic) refused the request because of a billing problem with the gateway's "
    "account. Please contact the gateway operator."
)

_CLASS_BY_TYPE: dict[str, type[GatewayError]] = {
    "invalid_request_error": UpstreamBadRequest,
    "authentication_error": UpstreamCredentialsRejected,
    "permission_error": UpstreamCredentialsRejected,
    "billing_error": UpstreamError,
    "not_found_error": UpstreamNotFound,
    "request_too_large": RequestTooLarge,
    "rate_limit_error": UpstreamRateLimited,
    "api_error": UpstreamServerError,
    "timeout_error": UpstreamTimeout,
    "overloaded_error": UpstreamOverloaded,
}

_CLASS_BY_STATUS: dict[int, type[GatewayError]] = {
    400: UpstreamBadRequest,
    401: UpstreamCredentialsRejected,
    402: UpstreamError,
    403: UpstreamCredentialsRejected,
    404: UpstreamNotFound,
    413: RequestTooLarge,
    429: UpstreamRateLimited,
    500: UpstreamServerError,
    503: UpstreamOverloaded,
    504: UpstreamTimeout,
    529: UpstreamOverloaded,
}


def _class_for_status(status: int) -> type[GatewayError]:
    known = _CLASS_BY_STATUS.get(status)
    if known is not None:
        return known
    return UpstreamServerError if status >= 500 else UpstreamBadRequest


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None  # an HTTP date: leave the wait to the router's own backoff
    return seconds if seconds >= 0 else None


def _build(cls: type[GatewayError], kind: str, message: str, *, retry_after: float | None = None) -> GatewayError:
    """One place that words the error for its class (credentials: never the provider's text)."""
    if cls is UpstreamCredentialsRejected:
        return cls(_CREDENTIALS_MESSAGE.format(kind=kind))
    if cls is UpstreamError:
        return cls(_BILLING_MESSAGE)
    text = f"Anthropic: {message}" if message else f"Anthropic returned an error ({kind})."
    if cls is UpstreamNotFound:
        return cls(text, loc=("model",))
    if cls is UpstreamBadRequest and message.startswith("prompt is too long"):
        return cls(text, code="context_length_exceeded")
    if cls is UpstreamRateLimited:
        return cls(text, retry_after=retry_after)
    return cls(text)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> GatewayError:
    """Map an HTTP error reply from ``/v1/messages`` onto the GatewayError tree."""
    cls = _class_for_status(status)
    try:
        detail = wire.error_decoder.decode(body).error
        kind, message = detail.type, detail.message
    except msgspec.DecodeError:
        kind, message = f"HTTP {status}", ""
    err = _build(cls, kind, message, retry_after=_retry_after(headers))
    if (_header(headers, "x-should-retry") or "").strip().lower() == "false":
        err.retryable = False
    return err


def stream_error(detail: wire.ErrorDetail) -> GatewayError:
    """Map an in-stream ``error`` event (sent after a 200) by its ``error.type``."""
    cls = _CLASS_BY_TYPE.get(detail.type, UpstreamServerError)
    return _build(cls, detail.type, detail.message)


def protocol_error(what: str, cause: Exception | None = None) -> UpstreamProtocolError:
    """A reply we could not read (malformed JSON, an unknown block type, a stream out of order)."""
    detail = f": {cause}" if cause is not None else ""
    return UpstreamProtocolError(f"Could not read the Anthropic reply ({what}){detail}")
