"""Validate Responses API and embeddings traffic against the official schemas, and check the event order.

Bodies are checked against ``tests/fixtures/openai/responses-embeddings.openapi.json`` (``Response``,
``ResponseItemList``, ``CreateEmbeddingResponse``); each stream event against the event schema its ``type``
names, which must be one of ``ResponseStreamEvent``'s members. ``EventGrammar`` is the state machine for what
the schema cannot say: the order of events.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from support.openai_schema import RESPONSES_SPEC, validate

SPEC = str(RESPONSES_SPEC)


def check(component: str, instance: Any) -> None:
    validate(component, instance, SPEC)


@functools.cache
def event_components() -> dict[str, str]:
    """Event ``type`` -> the component that describes it (every member of ``ResponseStreamEvent``)."""
    doc = json.loads(RESPONSES_SPEC.read_text())
    schemas = doc["components"]["schemas"]
    out: dict[str, str] = {}
    for member in schemas["ResponseStreamEvent"]["anyOf"]:
        name = member["$ref"].rsplit("/", 1)[-1]
        for kind in schemas[name]["properties"]["type"].get("enum", []):
            out[kind] = name
    return out


def sse_events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of each SSE event of a Responses stream (``event:`` and ``data:`` lines)."""
    out = []
    for block in body.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln]
        if not lines:
            continue
        name = next((ln[7:] for ln in lines if ln.startswith("event: ")), "")
        data = "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))
        assert all(ln.startswith(("event: ", "data: ")) for ln in lines), lines
        out.append((name, json.loads(data)))
    return out


def check_event(name: str, data: dict[str, Any]) -> None:
    kind = data.get("type")
    assert kind == name, f"event line {name!r} but data type {kind!r}"
    component = event_components().get(str(kind))
    assert component is not None, f"{kind!r} is not a ResponseStreamEvent"
    check(component, data)


def validate_responses_exchange(path: str, content_type: str, body: bytes) -> int:
    if path.endswith("/v1/embeddings"):
        data = json.loads(body)
        if any(isinstance(d.get("embedding"), str) for d in data.get("data", [])):  # base64: not in the schema
            data = {**data, "data": [{**d, "embedding": []} for d in data["data"]]}
        check("CreateEmbeddingResponse", data)
        return 1
    if content_type.startswith("text/event-stream"):
        events = sse_events(body)
        grammar = EventGrammar()
        for name, data in events:
            check_event(name, data)
            grammar.feed(data)
        grammar.close()
        return len(events)
    data = json.loads(body)
    if path.endswith("/input_items"):
        check("ResponseItemList", data)
    elif data.get("deleted") is True:
        assert set(data) == {"id", "object", "deleted"}
    else:
        check("Response", data)
    return 1


@dataclass
class _Item:
    type: str
    id: str
    done: bool = False
    parts: dict[int, list[str]] = field(default_factory=dict)  # content index -> deltas (None once done)
    parts_done: set[int] = field(default_factory=set)
    summaries: dict[int, list[str]] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None


class EventGrammar:
    """The order of a Responses stream, event by event (``feed``), then ``close`` at its end."""

    TERMINAL = ("response.completed", "response.incomplete", "response.failed")

    def __init__(self) -> None:
        self.seq = 0
        self.items: list[_Item] = []
        self.state = "start"  # start -> created -> running -> ended
        self.final: dict[str, Any] | None = None
        self.types: list[str] = []

    def feed(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        self.types.append(kind)
        assert ev["sequence_number"] == self.seq, f"sequence_number {ev['sequence_number']} != {self.seq}"
        self.seq += 1
        assert self.state != "ended", f"{kind} after the stream ended"
        if self.state == "start":
            assert kind == "response.created", f"first event is {kind}"
            assert ev["response"]["status"] in ("in_progress", "queued")
            self.state = "created"
            return
        if kind == "response.in_progress":
            assert self.state == "created" and not self.items
            self.state = "running"
            return
        self.state = "running"
        if kind == "error":
            return
        if kind in self.TERMINAL:
            self._terminal(kind, ev["response"])
            return
        self._item_event(kind, ev)

    def _item(self, ev: dict[str, Any]) -> _Item:
        index = ev["output_index"]
        assert index < len(self.items), f"{ev['type']} for output_index {index} before its output_item.added"
        item = self.items[index]
        assert not item.done, f"{ev['type']} for output_index {index} after its output_item.done"
        if "item_id" in ev:
            assert ev["item_id"] == item.id, f"item_id {ev['item_id']} != {item.id}"
        return item

    def _item_event(self, kind: str, ev: dict[str, Any]) -> None:
        if kind == "response.output_item.added":
            assert ev["output_index"] == len(self.items), "items are added in output order"
            assert all(i.done for i in self.items), "an item is added while another is still open"
            self.items.append(_Item(ev["item"]["type"], ev["item"]["id"]))
            return
        item = self._item(ev)
        if kind == "response.output_item.done":
            for c in item.parts:
                assert c in item.parts_done, f"content part {c} not done before its item"
            item.done, item.final = True, ev["item"]
            assert ev["item"]["id"] == item.id and ev["item"]["type"] == item.type
            if item.type == "function_call":
                joined = "".join(item.arguments)
                assert ev["item"]["arguments"] == (joined if joined.strip() else "{}")
            if item.type == "message":
                texts = ["".join(item.parts[c]) for c in sorted(item.parts)]
                assert [p["text"] for p in ev["item"]["content"]] == texts
            return
        if kind == "response.content_part.added":
            assert item.type == "message" and ev["content_index"] == len(item.parts)
            item.parts[ev["content_index"]] = []
        elif kind == "response.output_text.delta":
            assert ev["content_index"] in item.parts and ev["content_index"] not in item.parts_done
            item.parts[ev["content_index"]].append(ev["delta"])
        elif kind == "response.output_text.done":
            assert ev["text"] == "".join(item.parts[ev["content_index"]])
        elif kind == "response.content_part.done":
            assert ev["part"]["text"] == "".join(item.parts[ev["content_index"]])
            item.parts_done.add(ev["content_index"])
        elif kind == "response.reasoning_summary_part.added":
            assert item.type == "reasoning" and ev["summary_index"] == len(item.summaries)
            item.summaries[ev["summary_index"]] = []
        elif kind == "response.reasoning_summary_text.delta":
            item.summaries[ev["summary_index"]].append(ev["delta"])
        elif kind in ("response.reasoning_summary_text.done", "response.reasoning_summary_part.done"):
            text = ev["text"] if "text" in ev else ev["part"]["text"]
            assert text == "".join(item.summaries[ev["summary_index"]])
        elif kind == "response.function_call_arguments.delta":
            assert item.type == "function_call"
            item.arguments.append(ev["delta"])
        elif kind == "response.function_call_arguments.done":
            joined = "".join(item.arguments)
            assert ev["arguments"] == (joined if joined.strip() else "{}")
        elif kind in ("response.custom_tool_call_input.delta", "response.custom_tool_call_input.done"):
            assert item.type == "custom_tool_call"
        elif kind.startswith("response.web_search_call."):
            assert item.type == "web_search_call"
        else:
            raise AssertionError(f"unexpected event {kind}")

    def _terminal(self, kind: str, response: dict[str, Any]) -> None:
        self.state = "ended"
        self.final = response
        expected = kind.removeprefix("response.")
        assert response["status"] == expected, f"{kind} with status {response['status']}"
        if kind == "response.failed":
            return
        assert all(i.done for i in self.items), "the response ended with an item still open"
        assert [o["id"] for o in response["output"]] == [i.id for i in self.items]
        assert response["output"] == [i.final for i in self.items]
        usage = response["usage"]
        assert "reasoning_tokens" in usage["output_tokens_details"]
        assert "cached_tokens" in usage["input_tokens_details"]

    def close(self) -> None:
        assert self.state == "ended", f"the stream ended without a terminal event ({self.types[-3:]})"
