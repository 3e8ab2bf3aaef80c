"""``POST /v1beta/models/{model}:countTokens``.

The body holds ``contents`` or ``generateContentRequest`` (a whole GenerateContentRequest with its ``model``
as ``models/{name}``, so that the system instruction and tools are counted too). Both are validated as
``generateContent`` would validate them, with the paths of a ``CountTokensRequest``
(``* CountTokensRequest.generate_content_request.model: model is not specified``,
``* CountTokensRequest.generate_content_request.contents: contents is not specified``). The reply is
``{"totalTokens", "promptTokensDetails"}``, the same numbers as ``promptTokenCount`` and
``promptTokensDetails`` of a ``generateContent`` call with the same input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentoken_sandbox.gemini import validate
from opentoken_sandbox.gemini.errors import GeminiError, field_error, invalid
from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.parse import segments_of
from opentoken_sandbox.gemini.payload import check_count_payload, check_payload, get
from opentoken_sandbox.gemini.render import prompt_details

REQUEST = "CountTokensRequest"
_NESTED = "generate_content_request"


@contextlib.contextmanager
def _as_count_request(prefix: str) -> Iterator[None]:
    """Re-word errors of the GenerateContentRequest checks for the CountTokensRequest they sit in."""
    try:
        yield
    except GeminiError as e:
        message = e.message.replace("* GenerateContentRequest.", f"* {REQUEST}.{prefix}")
        if prefix:
            message = message.replace(" at '", f" at '{prefix}")
        details = e.details
        for detail in details or []:
            for violation in detail.get("fieldViolations", []):
                violation["field"] = prefix + violation["field"]
        raise GeminiError(e.code, message, details) from e


def _request(body: dict[str, Any], model: GeminiModel) -> dict[str, Any]:
    """The GenerateContentRequest to count, validated."""
    contents = get(body, "contents")
    inner = get(body, "generateContentRequest")
    if contents is not None and inner is not None:
        raise invalid("Only one of contents and generate_content_request can be set.")
    if inner is None:
        if not contents:
            raise field_error("contents", "contents is not specified", REQUEST)
        with _as_count_request(""):
            validate.check_contents({"contents": contents})
        return {"contents": contents}
    if not isinstance(inner, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object at '{_NESTED}'.")
    name = get(inner, "model")
    if name is None:
        raise field_error(f"{_NESTED}.model", "model is not specified", REQUEST)
    if not isinstance(name, str) or not name.startswith("models/"):
        raise field_error(f"{_NESTED}.model", "unexpected model name format", REQUEST)
    request = {k: v for k, v in inner.items() if k != "model"}
    with _as_count_request(f"{_NESTED}."):
        check_payload(request)
        validate.check_contents(request)
        validate.check_tools(request)
        validate.check_generation(request, model)
    return request


def count_tokens(body: Any, model: GeminiModel) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected a JSON object.")
    check_count_payload(body)
    request = _request(body, model)
    segments, images = segments_of(request, get(request, "contents"))
    total = max(1, sum(s.tokens for s in segments))
    return {"totalTokens": total, "promptTokensDetails": prompt_details(total, images)}
