"""Gemini error bodies: ``{"error":{"code","message","status","details"?}}`` (google.rpc.Status)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: (
        "You exceeded your current quota, please check your plan and billing details. For more information "
        "on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
    ),
    500: (
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"
    ),
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
CONTENT_TYPE = "application/json; charset=UTF-8"
_TYPE = "type.googleapis.com/google.rpc."


class GeminiError(Exception):
    """A request the simulated Gemini API refuses."""

    def __init__(self, code: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code = 503 if code == 529 else code
        self.message = message
        self.details = details

    @property
    def status(self) -> str:
        return _STATUS.get(self.code, "INTERNAL" if self.code >= 500 else "FAILED_PRECONDITION")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def response(self) -> web.Response:
        body = orjson.dumps(self.body(), option=orjson.OPT_INDENT_2)
        return web.Response(status=self.code, body=body, headers={"content-type": CONTENT_TYPE})


def invalid(message: str) -> GeminiError:
    return GeminiError(400, message)


def field_error(path: str, message: str, request: str = "GenerateContentRequest") -> GeminiError:
    """A field-level INVALID_ARGUMENT as the API words it: ``* GenerateContentRequest.<path>: <message>``."""
    return GeminiError(400, f"* {request}.{path}: {message}\n")


def payload_errors(messages: list[tuple[str, str]]) -> GeminiError:
    """Proto parse failures (unknown names, wrong types), with a BadRequest detail per field."""
    violations = [{"field": where, "description": text} for where, text in messages]
    text = "\n".join(text for _, text in messages)
    return GeminiError(400, text, [{"@type": _TYPE + "BadRequest", "fieldViolations": violations}])


def api_key_invalid() -> GeminiError:
    message = "API key not valid. Please pass a valid API key."
    return GeminiError(
        400,
        message,
        [
            {
                "@type": _TYPE + "ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {"@type": _TYPE + "LocalizedMessage", "locale": "en-US", "message": message},
        ],
    )


def model_not_found(model: str, method: str) -> GeminiError:
    return GeminiError(
        404,
        f"models/{model} is not found for API version v1beta, or is not supported for {method}. "
        "Call ModelService.ListModels to see the list of available models and their supported methods.",
    )


def for_status(code: int, model: str, retry_after: int | None = None) -> GeminiError:
    """The real error for an injected status (Anthropic's 529 is reported as 503 UNAVAILABLE)."""
    code = 503 if code == 529 else code
    message = _MESSAGES.get(code, _MESSAGES[500] if code >= 500 else _MESSAGES[400])
    details: list[dict[str, Any]] | None = None
    if code == 429:
        details = [
            {
                "@type": _TYPE + "QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": _TYPE + "Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": _TYPE + "RetryInfo", "retryDelay": f"{retry_after if retry_after is not None else 1}s"},
        ]
    return GeminiError(code, message, details)


def stream_error_frame(code: int | None, model: str) -> bytes:
    error = for_status(code or 503, model)
    return b"data: " + orjson.dumps(error.body()) + b"\r\n\r\n"
