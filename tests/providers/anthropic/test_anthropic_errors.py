"""Anthropic HTTP error replies and in-stream error events -> the GatewayError tree."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentoken.core.errors import (
    GatewayError,
    RequestTooLarge,
    UpstreamBadRequest,
    UpstreamCredentialsRejected,
    UpstreamError,
    UpstreamNotFound,
    UpstreamOverloaded,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from opentoken.providers.anthropic import PROVIDER, wire
from opentoken.providers.anthropic.errors import stream_error
from support.fixtures import ANTHROPIC

FIXTURES = ANTHROPIC

# file -> (class, OpenAI-facing status, text the message must contain, retryable)
EXPECTED: dict[str, tuple[type[GatewayError], int, str, bool]] = {
    "error_400_invalid_request.json": (UpstreamBadRequest, 400, "does not support effort level 'xhigh'", False),
    "error_400_invalid_shape.json": (UpstreamBadRequest, 400, "Input does not match the expected shape", False),
    "error_400_prompt_too_long.json": (UpstreamBadRequest, 400, "prompt is too long", False),
    "error_401_authentication.json": (UpstreamCredentialsRejected, 502, "gateway's credentials", False),
    "error_404_model_not_found.json": (UpstreamNotFound, 404, "claude-sonet-4-5", False),
    "error_429_rate_limit.json": (UpstreamRateLimited, 429, "per-minute rate limit", True),
    # x-should-retry: false on this recording: Anthropic says a retry will not help
    "error_500_api_error.json": (UpstreamServerError, 502, "Internal server error", False),
    "error_529_overloaded.json": (UpstreamOverloaded, 503, "Overloaded", True),
    "error_529_overloaded_image_request.json": (UpstreamOverloaded, 503, "Overloaded", True),
}


def _response(name: str) -> dict[str, Any]:
    response: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))["response"]
    return response


def test_every_error_fixture_has_expectations() -> None:
    assert set(EXPECTED) == {p.name for p in FIXTURES.glob("error_*.json")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_error(name: str) -> None:
    cls, status, text, retryable = EXPECTED[name]
    response = _response(name)
    err = PROVIDER.parse_error(response["status"], response["headers"], json.dumps(response["body"]).encode())
    assert type(err) is cls
    assert err.status == status
    assert text in err.message
    assert err.retryable is retryable


def test_rate_limit_keeps_retry_after() -> None:
    response = _response("error_429_rate_limit.json")
    err = PROVIDER.parse_error(429, response["headers"], json.dumps(response["body"]).encode())
    assert err.retry_after == 7.0
    err = PROVIDER.parse_error(429, {"Retry-After": "2.5"}, b"")
    assert isinstance(err, UpstreamRateLimited) and err.retry_after == 2.5
    assert PROVIDER.parse_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"").retry_after is None
    assert PROVIDER.parse_error(429, {}, b"").retry_after is None


def test_prompt_too_long_reads_as_context_length_exceeded() -> None:
    response = _response("error_400_prompt_too_long.json")
    err = PROVIDER.parse_error(400, response["headers"], json.dumps(response["body"]).encode())
    assert err.code == "context_length_exceeded"


def test_credentials_errors_blame_the_gateway_and_echo_nothing() -> None:
    secret = "sk-ant-api03-SECRETSECRET"
    for status, kind in ((401, "authentication_error"), (403, "permission_error")):
        body = json.dumps({"type": "error", "error": {"type": kind, "message": f"invalid x-api-key {secret}"}})
        err = PROVIDER.parse_error(status, {"x-api-key": secret}, body.encode())
        assert isinstance(err, UpstreamCredentialsRejected)
        assert err.status == 502
        assert secret not in err.message and secret not in repr(err)
        assert "gateway's credentials" in err.message and "not a problem with your API key" in err.message
        assert err.headers == {}


def _body(kind: str, message: str = "boom") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "kind", "cls", "openai_status"),
    [
        (400, "invalid_request_error", UpstreamBadRequest, 400),
        (402, "billing_error", UpstreamError, 502),
        (404, "not_found_error", UpstreamNotFound, 404),
        (409, "invalid_request_error", UpstreamBadRequest, 400),
        (413, "request_too_large", RequestTooLarge, 413),
        (422, "invalid_request_error", UpstreamBadRequest, 400),
        (500, "api_error", UpstreamServerError, 502),
        (502, "api_error", UpstreamServerError, 502),
        (503, "overloaded_error", UpstreamOverloaded, 503),
        (504, "timeout_error", UpstreamTimeout, 504),
        (529, "overloaded_error", UpstreamOverloaded, 503),
    ],
)
def test_status_table(status: int, kind: str, cls: type[GatewayError], openai_status: int) -> None:
    err = PROVIDER.parse_error(status, {}, _body(kind))
    assert type(err) is cls
    assert err.status == openai_status


def test_not_found_names_the_model_param() -> None:
    assert PROVIDER.parse_error(404, {}, _body("not_found_error", "model: x")).loc == ("model",)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, UpstreamBadRequest),
        (401, UpstreamCredentialsRejected),
        (403, UpstreamCredentialsRejected),
        (404, UpstreamNotFound),
        (413, RequestTooLarge),
        (429, UpstreamRateLimited),
        (500, UpstreamServerError),
        (502, UpstreamServerError),
        (504, UpstreamTimeout),
        (529, UpstreamOverloaded),
        (418, UpstreamBadRequest),
    ],
)
def test_unparseable_body_maps_by_status(status: int, cls: type[GatewayError]) -> None:
    for body in (b"<html><body>502 Bad Gateway</body></html>", b"", b'{"unexpected": true}'):
        err = PROVIDER.parse_error(status, {"content-type": "text/html"}, body)
        assert type(err) is cls
        assert "<html>" not in err.message


def test_should_retry_false_overrides_the_class() -> None:
    assert PROVIDER.parse_error(529, {"x-should-retry": "false"}, _body("overloaded_error")).retryable is False
    assert PROVIDER.parse_error(529, {"x-should-retry": "true"}, _body("overloaded_error")).retryable is True
    assert PROVIDER.parse_error(529, {}, _body("overloaded_error")).retryable is True


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("overloaded_error", UpstreamOverloaded),
        ("rate_limit_error", UpstreamRateLimited),
        ("api_error", UpstreamServerError),
        ("invalid_request_error", UpstreamBadRequest),
        ("authentication_error", UpstreamCredentialsRejected),
        ("permission_error", UpstreamCredentialsRejected),
        ("not_found_error", UpstreamNotFound),
        ("request_too_large", RequestTooLarge),
        ("timeout_error", UpstreamTimeout),
        ("some_new_error", UpstreamServerError),
    ],
)
def test_stream_error_by_type(kind: str, cls: type[GatewayError]) -> None:
    err = stream_error(wire.ErrorDetail(type=kind, message="m"))
    assert type(err) is cls
