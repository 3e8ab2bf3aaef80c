"""Anthropic error bodies: ``{"type":"error","error":{"type","message"},"request_id"}`` plus headers."""

from __future__ import annotations

import secrets
import string

import orjson
from aiohttp import web

_ALPHABET = string.ascii_letters + string.digits
# byte -> alphabet letter, for one urandom call per id (the slight bias does not matter for simulated ids)
_ID_TABLE = bytes(ord(_ALPHABET[i % len(_ALPHABET)]) for i in range(256))
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_MESSAGES = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    402: "Your credit balance is too low to access the Anthropic API.",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found.",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: (
        "Number of requests has exceeded your per-minute rate limit "
        "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. "
        "Please try again later or contact sales at https://www.anthropic.com/contact-sales to discuss "
        "your options for a rate limit increase."
    ),
    500: "Internal server error",
    504: "Request timed out.",
    529: "Overloaded",
}
_RETRYABLE = frozenset({408, 409, 429, 503, 504, 529})


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + secrets.token_bytes(length).translate(_ID_TABLE).decode("ascii")


def request_id() -> str:
    return random_id("req_011C", 20)


class AnthropicError(Exception):
    """A request the simulated Anthropic API refuses."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = 529 if status == 503 else status
        self.message = message
        self.retry_after = retry_after

    @property
    def type(self) -> str:
        if self.status in _TYPES:
            return _TYPES[self.status]
        return "api_error" if self.status >= 500 else "invalid_request_error"

    def body(self, req_id: str) -> dict[str, object]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}, "request_id": req_id}

    def response(self, req_id: str) -> web.Response:
        headers = {
            "request-id": req_id,
            "x-should-retry": "true" if self.status in _RETRYABLE else "false",
        }
        if self.status == 429:
            headers["retry-after"] = str(self.retry_after if self.retry_after is not None else 1)
            headers["anthropic-ratelimit-requests-limit"] = "50"
            headers["anthropic-ratelimit-requests-remaining"] = "0"
        return web.Response(
            status=self.status,
            body=orjson.dumps(self.body(req_id)),
            headers=headers,
            content_type="application/json",
        )


def invalid(message: str) -> AnthropicError:
    return AnthropicError(400, message)


def for_status(status: int, retry_after: int | None = None) -> AnthropicError:
    """The real error for an injected status (503 is reported as Anthropic's 529)."""
    status = 529 if status == 503 else status
    fallback = "Internal server error" if status >= 500 else "Invalid request."
    return AnthropicError(status, _MESSAGES.get(status, fallback), retry_after=retry_after)


def stream_error_frame(status: int | None, req_id: str) -> bytes:
    error = for_status(status or 529)
    return b"event: error\ndata: " + orjson.dumps(error.body(req_id)) + b"\n\n"
