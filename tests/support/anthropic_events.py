"""Validation of what the gateway sends Anthropic clients: every body through the SDK's own types, every
stream through the SDK's event types and a state machine of Anthropic's event grammar."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic
from anthropic.types import Message, ModelInfo, RawMessageStreamEvent

_EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)
ERROR_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
}
_DELTAS = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
    "tool_use": {"input_json_delta"},
    "server_tool_use": {"input_json_delta"},
}


def sse_events(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """``(event name, parsed data)`` per server-sent event."""
    out = []
    for raw in body.decode().split("\n\n"):
        if not raw.strip():
            continue
        name, data = None, []
        for line in raw.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        out.append((name, orjson.loads("\n".join(data))))
    return out


@dataclass
class Grammar:
    """message_start ping* (block_start delta* block_stop)* message_delta message_stop, or an error anywhere."""

    state: str = "start"
    next_index: int = 0
    block: str | None = None
    signed: bool = False
    seen: list[str] = field(default_factory=list)

    def feed(self, name: str | None, data: dict[str, Any]) -> None:
        kind = data["type"]
        assert name == kind, f"event name {name!r} does not match its data type {kind!r}"
        self.seen.append(kind)
        assert self.state != "done", f"{kind} after the end of the stream"
        if kind == "error":
            assert data["error"]["type"] in ERROR_TYPES, data
            self.state = "done"
            return
        if kind == "ping":
            assert self.state != "start", "ping before message_start"
            return
        expected = {
            "message_start": "start",
            "content_block_start": "message",
            "content_block_delta": "block",
            "content_block_stop": "block",
            "message_delta": "message",
            "message_stop": "delta",
        }[kind]
        assert self.state == expected, f"{kind} in state {self.state}: {self.seen}"
        if kind == "message_start":
            self.state = "message"
        elif kind == "content_block_start":
            assert data["index"] == self.next_index, (data, self.next_index)
            self.block, self.signed, self.state = data["content_block"]["type"], False, "block"
        elif kind == "content_block_delta":
            assert data["index"] == self.next_index
            assert data["delta"]["type"] in _DELTAS.get(self.block or "", {data["delta"]["type"]}), (self.block, data)
            self.signed = self.signed or data["delta"]["type"] == "signature_delta"
        elif kind == "content_block_stop":
            assert data["index"] == self.next_index
            assert self.block != "thinking" or self.signed, "a thinking block ended without its signature"
            self.next_index += 1
            self.state = "message"
        elif kind == "message_delta":
            self.state = "delta"
        else:
            self.state = "done"


def check_stream(body: bytes) -> list[dict[str, Any]]:
    """Validate a whole stream; returns the event data in order."""
    grammar = Grammar()
    events = sse_events(body)
    for name, data in events:
        if data.get("type") == "ping":  # the SDK's event union leaves out ping (it skips them)
            assert data == {"type": "ping"}
        elif data.get("type") != "error":  # error events are checked by the grammar
            _EVENTS.validate_python(data)
        grammar.feed(name, data)
    assert grammar.state == "done", f"the stream ended in state {grammar.state}: {grammar.seen}"
    return [d for _, d in events]


def check_error(status: int, body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(body)
    assert data["type"] == "error" and data["error"]["type"] in ERROR_TYPES, data
    assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    assert isinstance(data.get("request_id"), str)
    return data


def check_exchange(path: str, status: int, content_type: str, body: bytes) -> bool:
    """Validate one recorded response of a Messages or models route; False for any other route."""
    if path.startswith("/v1/models"):
        if status != 200:
            check_error(status, body)
            return True
        data = orjson.loads(body)
        for item in data.get("data", [data]):
            ModelInfo.model_validate(item)
        return True
    if not path.startswith("/v1/messages"):
        return False
    if status != 200:
        check_error(status, body)
    elif content_type.startswith("text/event-stream"):
        check_stream(body)
    elif path.endswith("/count_tokens"):
        assert isinstance(orjson.loads(body)["input_tokens"], int)
    else:
        Message.model_validate_json(body)
    return True
