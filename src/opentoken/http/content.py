"""Prompt and completion content for the server span, only when the operator opts in
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``).

``ContentCapture`` keeps a copy of the request body and of the response (a JSON body, or the text of the
stream's chunks) of ``POST /v1/chat/completions`` as they pass through the middleware, up to
``MAX_BYTES`` each, and turns them into the GenAI conventions' ``gen_ai.system_instructions``,
``gen_ai.input.messages`` and ``gen_ai.output.messages`` (JSON: role, parts, finish reason). Headers are
never read, so a key cannot end up in a span. Media is described by its type, never copied.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Message, Receive

MAX_BYTES = 1 << 20
Part = dict[str, Any]


class ContentCapture:
    def __init__(self) -> None:
        self._request = bytearray()
        self._response = bytearray()
        self._stream = False

    def receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(self._request) < MAX_BYTES:
                self._request += message.get("body", b"")
            return message

        return wrapped

    def sent(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            self._stream = content_type.startswith(b"text/event-stream")
        elif message["type"] == "http.response.body" and len(self._response) < MAX_BYTES:
            self._response += message.get("body", b"")

    def attributes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        request = _json(bytes(self._request))
        if isinstance(request, dict) and isinstance(request.get("messages"), list):
            system, messages = _input(request["messages"])
            if system:
                out["gen_ai.system_instructions"] = orjson.dumps(system).decode()
            out["gen_ai.input.messages"] = orjson.dumps(messages).decode()
        choices = _stream_choices(bytes(self._response)) if self._stream else _body_choices(bytes(self._response))
        if choices:
            out["gen_ai.output.messages"] = orjson.dumps(choices).decode()
        return out


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[Part] = []
    for item in content if isinstance(content, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": item.get("text", "")})
        elif kind in ("image_url", "input_audio", "file"):
            parts.append({"type": "blob" if kind != "image_url" else "uri", "modality": _modality(kind)})
    return parts


def _modality(kind: str) -> str:
    return {"image_url": "image", "input_audio": "audio"}.get(kind, "document")


def _input(messages: list[Any]) -> tuple[list[Part], list[dict[str, Any]]]:
    system: list[Part] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role in ("system", "developer"):
            system += _parts(m.get("content"))
            continue
        if role == "tool":
            part = {"type": "tool_call_response", "id": m.get("tool_call_id"), "response": m.get("content")}
            out.append({"role": "tool", "parts": [part]})
            continue
        parts = _parts(m.get("content"))
        parts += [_tool_call(c) for c in m.get("tool_calls") or () if isinstance(c, dict)]
        out.append({"role": role, "parts": parts})
    return system, out


def _tool_call(call: dict[str, Any]) -> Part:
    function = call.get("function") or {}
    return {
        "type": "tool_call",
        "id": call.get("id"),
        "name": function.get("name"),
        "arguments": function.get("arguments"),
    }


def _body_choices(raw: bytes) -> list[dict[str, Any]]:
    body = _json(raw)
    out: list[dict[str, Any]] = []
    for choice in body.get("choices") or () if isinstance(body, dict) else ():
        message = choice.get("message") or {}
        parts = _parts(message.get("content"))
        parts += [_tool_call(c) for c in message.get("tool_calls") or ()]
        out.append({"role": "assistant", "parts": parts, "finish_reason": choice.get("finish_reason")})
    return out


def _stream_choices(raw: bytes) -> list[dict[str, Any]]:
    """Fold the chunks of an OpenAI chat stream back into one message per choice."""
    texts: dict[int, str] = {}
    calls: dict[int, dict[int, Part]] = {}
    finish: dict[int, str | None] = {}
    for line in raw.split(b"\n"):
        if not line.startswith(b"data: {"):
            continue
        chunk = _json(line[6:])
        for choice in chunk.get("choices") or () if isinstance(chunk, dict) else ():
            i = choice.get("index", 0)
            delta = choice.get("delta") or {}
            texts[i] = texts.get(i, "") + (delta.get("content") or "")
            for call in delta.get("tool_calls") or ():
                part = calls.setdefault(i, {}).setdefault(call.get("index", 0), _tool_call({**call, "function": {}}))
                function = call.get("function") or {}
                part["id"] = call.get("id") or part["id"]
                part["name"] = function.get("name") or part["name"]
                part["arguments"] = (part["arguments"] or "") + (function.get("arguments") or "")
            finish[i] = choice.get("finish_reason") or finish.get(i)
    out = []
    for i in sorted(set(texts) | set(calls)):
        parts: list[Part] = [{"type": "text", "content": texts[i]}] if texts.get(i) else []
        parts += [calls[i][k] for k in sorted(calls.get(i, {}))]
        out.append({"role": "assistant", "parts": parts, "finish_reason": finish.get(i)})
    return out
