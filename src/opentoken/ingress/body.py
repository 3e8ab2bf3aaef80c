"""What every codec does to a client's body before its own rules: JSON, typed-struct errors, base64 and data
URLs, tool-call arguments. Each takes the parameter name to blame in the caller's own syntax."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import msgspec
import orjson

from opentoken.core.errors import InvalidRequest

_ERROR = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*),(?P<data>.*)$", re.S)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 ``invalid_json``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest(f"The request body is not valid JSON: {e}", code="invalid_json") from e
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return data


def validation_error(err: msgspec.ValidationError) -> tuple[str, str | None]:
    """msgspec's message and the path it names, in dotted form with brackets (``messages[2].role``); a
    missing required field is named too (``messages[0].content``). None when the error names no field."""
    text = str(err)
    m = _ERROR.match(text)
    msg, path = (m.group("msg"), m.group("path")) if m else (text, None)
    param = (path or "").lstrip(".")
    missing = _MISSING.match(msg)
    if missing:
        param = f"{param}.{missing.group('field')}" if param else missing.group("field")
    return msg, param or None


def check_base64(data: str, param: str) -> None:
    if not data.strip():
        raise InvalidRequest("The base64 data is empty.", param=param)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidRequest("The data is not valid base64.", param=param) from e


def split_data_url(url: str, param: str) -> tuple[str, str]:
    """``data:<mime>;base64,<data>`` -> (mime type in lower case, the base64 data, checked)."""
    m = _DATA_URL.match(url)
    if m is None or ";base64" not in (m.group("params") or "") or not m.group("mime"):
        raise InvalidRequest("Expected a data URL of the form data:<mime>;base64,<data>.", param=param)
    check_base64(m.group("data"), param)
    return m.group("mime").lower(), m.group("data")


def guess_mime(filename: str | None) -> str:
    """A file sent as bare base64: its type from the name (PDF unless it says text)."""
    name = (filename or "").lower()
    return "text/plain" if name.endswith((".txt", ".md")) else "application/pdf"


def tool_arguments(arguments: str, param: str) -> str:
    """Tool-call arguments as the client sent them, which must be a JSON object's text ("{}" when empty)."""
    if not arguments.strip():
        return "{}"
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest("Tool call arguments must be a JSON object encoded as a string.", param=param) from e
    if not isinstance(value, dict):
        raise InvalidRequest("Tool call arguments must be a JSON object.", param=param)
    return arguments
