"""Pass-through fidelity on every recorded Anthropic interaction (``tests/fixtures/upstream/anthropic``).

A tiny upstream serves the recorded reply of each fixture; the client sends the recorded request through the
gateway's ``/v1/messages``. What the upstream receives must equal what the client sent but for the model id
(the catalog's) and the key (the gateway's); ``anthropic-version`` and ``anthropic-beta`` arrive as sent. The
client must receive the recorded reply unchanged: every stream event byte for byte, every JSON body as is.
Recorded errors arrive in Anthropic's error shape with the recorded error type (a 401 of the provider is about
the gateway's credentials, so the client sees an ``api_error``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from aiohttp import web

from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import ModelNotFound
from support.anthropic_events import check_error, check_exchange
from support.fixtures import ANTHROPIC
from support.servers import Gateway, free_port, gateway_env, gateway_process

FIXTURES = sorted(p.name for p in ANTHROPIC.glob("*.json"))
FALLBACK_MODEL = "anthropic/claude-sonnet-4-5"
CATALOG = load_catalog()


class RecordedUpstream:
    """Serves ``self.fixture``'s recorded reply to every request and keeps what it received."""

    def __init__(self) -> None:
        self.fixture: dict[str, Any] = {}
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        reply = self.fixture["response"]
        headers = {k: v for k, v in reply["headers"].items() if k.lower() != "content-type"}
        if "body_text" in reply:
            return web.Response(
                status=reply["status"],
                body=reply["body_text"].encode(),
                headers=headers,
                content_type="text/event-stream",
            )
        body = json.dumps(reply["body"]).encode()
        return web.Response(status=reply["status"], body=body, headers=headers, content_type="application/json")


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordedUpstream]:
    server = RecordedUpstream()
    loop = asyncio.new_event_loop()
    app = web.Application(client_max_size=50 * 1024 * 1024)
    app.router.add_post("/v1/messages", server.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", server.port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def relay(upstream: RecordedUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir: Path = tmp_path_factory.mktemp("passthrough")
    with gateway_process(gateway_env(data_dir, upstream.url, OPENTOKEN_RETRY_MAX_ATTEMPTS="1")) as gw:
        yield gw


def client_model(recorded: str) -> str:
    try:
        return CATALOG.resolve(recorded).id and recorded
    except ModelNotFound:
        return FALLBACK_MODEL


def without_model(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "model"}


@pytest.mark.parametrize("name", FIXTURES)
def test_recorded_interaction_passes_through(upstream: RecordedUpstream, relay: Gateway, name: str) -> None:
    fixture = json.loads((ANTHROPIC / name).read_text())
    upstream.fixture, upstream.received = fixture, []
    recorded = fixture["request"]
    sent = {**recorded["body"], "model": client_model(recorded["body"]["model"])}
    headers = {k: v for k, v in recorded["headers"].items() if k in ("anthropic-version", "anthropic-beta")}
    query = recorded["query"]
    r = httpx.post(
        relay.url + "/v1/messages" + (f"?{query}" if query else ""),
        content=json.dumps(sent).encode(),
        headers={**headers, "x-api-key": relay.key, "content-type": "application/json"},
        timeout=60,
    )
    status = fixture["response"]["status"]
    if upstream.received:  # what the provider got: the client's request, but model and key
        got_headers, got_body = upstream.received[0]
        got = json.loads(got_body)
        assert without_model(got) == without_model(sent)
        assert got["model"] == CATALOG.resolve(sent["model"]).upstream_model
        assert got_headers["x-api-key"] == relay.env["ANTHROPIC_API_KEY"] != relay.key
        for header, value in headers.items():
            assert got_headers[header] == value
    else:  # only a request the gateway itself rejects never reaches the provider
        assert status == 400 and r.status_code == 400
    if status == 200:
        assert r.status_code == 200
        assert check_exchange("/v1/messages", r.status_code, r.headers["content-type"], r.content)
        reply = fixture["response"]
        if "body_text" in reply:
            assert [(n, d) for n, d in _raw_events(r.content)] == _raw_events(reply["body_text"].encode())
        else:
            assert json.loads(r.content) == reply["body"]
        return
    error = check_error(r.status_code, r.content)["error"]
    expected = fixture["response"]["body"]["error"]["type"]
    if status == 401:
        assert (r.status_code, error["type"]) == (500, "api_error")  # the gateway's credentials, not the client's
    else:
        assert (r.status_code, error["type"]) == (status, expected)


def _raw_events(body: bytes) -> list[tuple[str | None, str]]:
    """``(event, data)`` per event, data as the exact text sent."""
    out = []
    for raw in body.decode().replace("\r\n", "\n").split("\n\n"):
        if not raw.strip():
            continue
        name = next((line[6:].strip() for line in raw.split("\n") if line.startswith("event:")), None)
        data = "\n".join(line[5:].lstrip(" ") for line in raw.split("\n") if line.startswith("data:"))
        out.append((name, data))
    return out
