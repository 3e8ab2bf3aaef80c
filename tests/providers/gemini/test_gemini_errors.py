"""Gemini error replies -> GatewayError (recorded bodies and the documented shapes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

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
from opentoken.providers.gemini import PROVIDER

Load = Callable[[str], dict[str, Any]]

KEY = "AIzaSyD-not-a-real-key-0123456789"


def error_body(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


def parse(status: int, body: bytes, headers: dict[str, str] | None = None) -> GatewayError:
    return PROVIDER.parse_error(status, headers or {}, body)


def test_recorded_404(gemini_fixture: Load) -> None:
    response = gemini_fixture("error_404_model_not_found")["response"]
    error = parse(response["status"], json.dumps(response["body"]).encode(), response["headers"])
    assert isinstance(error, UpstreamNotFound)
    assert error.status == 404 and error.code == "model_not_found"
    assert "models/gemini-3.6-flahs is not found" in error.message


def test_recorded_400(gemini_fixture: Load) -> None:
    response = gemini_fixture("error_400_invalid_argument_vertex")["response"]
    error = parse(response["status"], json.dumps(response["body"]).encode(), response["headers"])
    assert type(error) is UpstreamBadRequest
    assert error.status == 400
    assert "Cannot fetch content from the provided URL" in error.message


def test_invalid_api_key_is_the_gateways_problem() -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"},
        {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            "locale": "en-US",
            "message": "API key not valid.",
        },
    ]
    body = error_body(400, "INVALID_ARGUMENT", f"API key not valid. Please pass a valid API key. ({KEY})", details)
    error = parse(400, body)
    assert isinstance(error, UpstreamCredentialsRejected)
    assert error.status == 502
    assert KEY not in error.message and "AIza" not in error.message
    assert "not a problem with your request or API key" in error.message


@pytest.mark.parametrize(("status", "name"), [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_401_and_403_are_credentials_rejected(status: int, name: str) -> None:
    error = parse(status, error_body(status, name, f"Method doesn't allow unregistered callers. key={KEY}"))
    assert isinstance(error, UpstreamCredentialsRejected)
    assert KEY not in error.message


def test_429_uses_retry_info_delay() -> None:
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "x"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
    ]
    error = parse(
        429, error_body(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota", details), {"Retry-After": "5"}
    )
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after == 37.0
    assert error.retryable


def test_429_falls_back_to_retry_after_header() -> None:
    error = parse(429, error_body(429, "RESOURCE_EXHAUSTED", "Slow down"), {"Retry-After": "12"})
    assert isinstance(error, UpstreamRateLimited) and error.retry_after == 12.0
    error = parse(
        429, error_body(429, "RESOURCE_EXHAUSTED", "Slow down"), {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}
    )
    assert error.retry_after is None
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
    assert parse(429, error_body(429, "RESOURCE_EXHAUSTED", "x", details)).retry_after == 1.5


@pytest.mark.parametrize(
    ("status", "name", "kind"),
    [
        (400, "INVALID_ARGUMENT", UpstreamBadRequest),
        (400, "FAILED_PRECONDITION", UpstreamBadRequest),
        (413, "INVALID_ARGUMENT", UpstreamBadRequest),
        (404, "NOT_FOUND", UpstreamNotFound),
        (500, "INTERNAL", UpstreamServerError),
        (502, "UNKNOWN", UpstreamServerError),
        (503, "UNAVAILABLE", UpstreamOverloaded),
        (504, "DEADLINE_EXCEEDED", UpstreamTimeout),
    ],
)
def test_status_table(status: int, name: str, kind: type[GatewayError]) -> None:
    error = parse(status, error_body(status, name, "upstream says no"))
    assert type(error) is kind
    assert error.message == "Gemini: upstream says no"


def test_array_wrapped_body() -> None:
    body = b"[" + error_body(503, "UNAVAILABLE", "The model is overloaded. Please try again later.") + b"]"
    error = parse(503, body)
    assert isinstance(error, UpstreamOverloaded) and "overloaded" in error.message


@pytest.mark.parametrize("body", [b"", b"<html>Bad Gateway</html>", b"[]", b'{"error": "flat string"}'])
def test_unreadable_bodies_still_map_by_status(body: bytes) -> None:
    error = parse(500, body)
    assert isinstance(error, UpstreamServerError)
    assert error.message == "Gemini: Gemini returned HTTP 500."
