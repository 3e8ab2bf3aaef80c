"""Fixtures for the sandbox tests: an in-process sandbox on 127.0.0.1, a small client, the recorded corpus.

The corpus is the repository's copy in ``tests/fixtures/upstream`` (``support.fixtures.load_upstream``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from opentoken_sandbox.app import running_sandbox
from opentoken_sandbox.config import SandboxConfig
from support.fixtures import load_upstream

ANTHROPIC_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
GEMINI_HEADERS = {"x-goog-api-key": "test-key"}


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def anthropic_events(self) -> list[tuple[str, dict[str, Any]]]:
        return parse_anthropic_sse(self.text)

    def anthropic_message(self) -> dict[str, Any]:
        return fold_anthropic(self.anthropic_events())

    def gemini_chunks(self) -> list[dict[str, Any]]:
        return parse_gemini_sse(self.text)


def parse_anthropic_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    assert "\r" not in text, "Anthropic SSE uses LF line endings"
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events


def parse_gemini_sse(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\r\n\r\n")
    chunks = []
    for block in text.split("\r\n\r\n"):
        if not block:
            continue
        assert block.startswith("data: ") and "\n" not in block, block
        chunks.append(json.loads(block[len("data: ") :]))
    return chunks


def fold_anthropic(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Fold a Messages stream into the message it describes (like the SDK's accumulator)."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for kind, data in events:
        if kind == "message_start":
            message = dict(data["message"])
            message["usage"] = dict(message["usage"])
        elif kind == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
            elif delta["type"] == "citations_delta":
                block.setdefault("citations", []).append(delta["citation"])
        elif kind == "content_block_stop" and data["index"] in partial:
            raw = partial.pop(data["index"])
            message["content"][data["index"]]["input"] = json.loads(raw) if raw else {}
        elif kind == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data["usage"])
            if "context_management" in data:
                message["context_management"] = data["context_management"]
    return message


class SandboxClient:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def post(self, path: str, body: Any, headers: dict[str, str]) -> Reply:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"content-type": "application/json", **headers}
        async with self.http.post(self.url + path, data=data, headers=headers) as r:
            return Reply(r.status, CIMultiDict(r.headers), await r.text())

    async def anthropic(self, body: Any, headers: dict[str, str] | None = None, path: str = "/v1/messages") -> Reply:
        return await self.post(path, body, ANTHROPIC_HEADERS if headers is None else headers)

    async def gemini(
        self, model: str, body: Any, *, stream: bool = False, headers: dict[str, str] | None = None
    ) -> Reply:
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return await self.post(f"/v1beta/models/{model}:{action}", body, GEMINI_HEADERS if headers is None else headers)

    async def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=body) as r:
            return r.status, await r.json()


@pytest.fixture
async def start_sbx() -> AsyncIterator[Callable[..., Awaitable[SandboxClient]]]:
    """Start sandboxes with a given config; all are stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(config: SandboxConfig | None = None) -> SandboxClient:
            url = await stack.enter_async_context(running_sandbox(config))
            return SandboxClient(url, http)

        yield start


@pytest.fixture
async def sbx(start_sbx: Callable[..., Awaitable[SandboxClient]]) -> SandboxClient:
    return await start_sbx()


@pytest.fixture
def upstream() -> Callable[[str], dict[str, Any]]:
    return load_upstream
