"""Helpers for the reliability suites: the sandbox control API, the ledger through the admin API, and calls
through the official openai SDK that keep the gateway's request id."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import openai

from support.servers import Gateway

USER = [{"role": "user", "content": "Name three uses for a paperclip."}]


def sdk(gw: Gateway, timeout: float = 30) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.key, max_retries=0, timeout=timeout)


class Sandbox:
    """The sandbox control API: request log and queued faults."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self) -> None:
        httpx.delete(self.url + "/_sandbox/requests")
        httpx.delete(self.url + "/_sandbox/faults")

    def fault(self, count: int = 1, **spec: Any) -> None:
        r = httpx.post(self.url + "/_sandbox/faults", json={"count": count, **spec})
        assert r.status_code == 200, r.text

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(self.url + "/_sandbox/requests").json()["requests"])

    def wait_closed(self, timeout: float = 3.0) -> dict[str, Any]:
        """The last logged request, once the sandbox has seen its connection close."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.requests()[-1]
            if last["closed_at"] is not None:
                return last
            time.sleep(0.01)
        raise AssertionError("the sandbox never saw the connection close")


@dataclass
class Ledger:
    """The gateway's ledger through ``GET /admin/v1/requests``; ``since`` holds the ids seen before a test."""

    gw: Gateway
    since: set[str] = field(default_factory=set)

    def rows(self) -> list[dict[str, Any]]:
        r = httpx.get(
            self.gw.url + "/admin/v1/requests",
            params={"limit": 1000},
            headers={"authorization": f"Bearer {self.gw.admin_key}"},
        )
        assert r.status_code == 200, r.text
        return list(r.json()["data"])

    def mark(self) -> None:
        self.since = {row["request_id"] for row in self.rows()}

    def new(self, expected: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        """The rows written since ``mark``, once there are ``expected`` of them (never more)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = [row for row in self.rows() if row["request_id"] not in self.since]
            if len(rows) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        time.sleep(0.05)
        rows = [row for row in self.rows() if row["request_id"] not in self.since]
        assert len(rows) == expected, rows
        return rows

    def one(self, request_id: str) -> dict[str, Any]:
        rows = self.new(1)
        assert rows[0]["request_id"] == request_id
        return rows[0]


@dataclass
class StreamResult:
    request_id: str
    model: str | None
    text: str
    finish: str | None
    error: openai.APIError | None


def stream(client: openai.OpenAI, **kw: Any) -> StreamResult:
    """Consume a stream, keeping what arrived before a mid-stream error."""
    with client.chat.completions.with_streaming_response.create(stream=True, **kw) as resp:
        rid = resp.headers["x-request-id"]
        text, finish, model, error = "", None, None, None
        try:
            for chunk in resp.parse():
                model = chunk.model
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    finish = choice.finish_reason or finish
        except openai.APIError as e:
            error = e
    return StreamResult(rid, model, text, finish, error)


def complete(client: openai.OpenAI, **kw: Any) -> tuple[str, Any]:
    raw = client.chat.completions.with_raw_response.create(**kw)
    return raw.headers["x-request-id"], raw.parse()


def failing(client: openai.OpenAI, **kw: Any) -> tuple[str, openai.APIStatusError]:
    try:
        client.chat.completions.create(**kw)
    except openai.APIStatusError as e:
        return e.response.headers["x-request-id"], e
    raise AssertionError("the request did not fail")
