"""UpstreamClient time limits and transport errors against small servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from opentoken.catalog.model import Timeouts
from opentoken.catalog.registry import load_catalog
from opentoken.core.errors import UpstreamConnectionError, UpstreamOverloaded, UpstreamTimeout
from opentoken.providers.base import UpstreamRequest
from opentoken.providers.registry import all_providers
from opentoken.upstream.client import Deployment, UpstreamClient
from support.catalog import entry

PROVIDER = all_providers()["anthropic"]
REQUEST = UpstreamRequest(path="/v1/messages", body=b"{}", headers={"content-type": "application/json"}, stream=True)


async def _stream(request: web.Request) -> web.StreamResponse:
    gap = float(request.query.get("gap", "0"))
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    for i in range(3):
        await resp.write(f"event: ping\ndata: {i}\n\n".encode())
        await asyncio.sleep(gap)
    await resp.write_eof()
    return resp


async def _slow_headers(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(text="late")


async def _overloaded(request: web.Request) -> web.Response:
    return web.json_response(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, status=529
    )


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/stream/v1/messages", _stream)
    app.router.add_post("/slow/v1/messages", _slow_headers)
    app.router.add_post("/busy/v1/messages", _overloaded)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient()
    yield c
    await c.close()


def deployment(base: str) -> Deployment:
    return Deployment("test", PROVIDER, base, "secret-key")


def with_query(request: UpstreamRequest, query: str) -> UpstreamRequest:
    return UpstreamRequest(request.path + query, request.body, request.headers, request.stream)


async def test_stream_reads_events(server: str, client: UpstreamClient) -> None:
    call = await client.send(deployment(server + "/stream"), REQUEST, Timeouts())
    assert [e.data async for read in call.reads() for e in read] == ["0", "1", "2"]


async def test_idle_gap_mid_stream_times_out(server: str, client: UpstreamClient) -> None:
    call = await client.send(deployment(server + "/stream"), with_query(REQUEST, "?gap=0.5"), Timeouts(idle=0.1))
    got: list[str] = []
    with pytest.raises(UpstreamTimeout, match=r"sent nothing for 0\.1 s"):
        async for read in call.reads():
            got += [e.data for e in read]
    assert got == ["0"]


async def test_no_idle_limit_until_lifted(server: str, client: UpstreamClient) -> None:
    call = await client.send(deployment(server + "/stream"), with_query(REQUEST, "?gap=0.2"), Timeouts(idle=0.1))
    call.idle = None
    assert len([e async for read in call.reads() for e in read]) == 3


async def test_total_deadline_mid_stream(server: str, client: UpstreamClient) -> None:
    timeouts = Timeouts(idle=5, total=0.3)
    call = await client.send(
        deployment(server + "/stream"), with_query(REQUEST, "?gap=0.2"), timeouts, time.monotonic() + 0.3
    )
    with pytest.raises(UpstreamTimeout, match="total timeout mid-stream"):
        async for _ in call.reads():
            pass


async def test_headers_wait_is_bounded_by_the_deadline(server: str, client: UpstreamClient) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="total timeout"):
        await client.send(deployment(server + "/slow"), REQUEST, Timeouts(total=0.3))
    assert time.monotonic() - started < 1.0


async def test_error_reply_is_mapped_by_the_provider(server: str, client: UpstreamClient) -> None:
    with pytest.raises(UpstreamOverloaded):
        await client.send(deployment(server + "/busy"), REQUEST, Timeouts())


async def test_connection_refused(client: UpstreamClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(UpstreamConnectionError) as info:
            await client.send(deployment(f"http://127.0.0.1:{port}"), REQUEST, Timeouts())
    assert "secret-key" not in str(info.value)


async def test_connect_timeout(client: UpstreamClient) -> None:
    """A listener whose accept queue is full drops further SYNs, so connecting hangs until the timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
            fillers.append(f)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="connect"):
            await client.send(deployment(f"http://127.0.0.1:{port}"), REQUEST, Timeouts(connect=0.2))
        assert time.monotonic() - started < 1.0
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_catalog_timeouts_override_the_global_ones_field_by_field(tmp_path: Path) -> None:
    extra = tmp_path / "models.toml"
    extra.write_text(
        '[[model]]\nid = "anthropic/fast-one"\nupstream_model = "claude-haiku-4-5"\ncontext_window = 1000\n'
        'max_output_tokens = 100\nprices = { input = "1", output = "1" }\ntimeouts = { first_token = 2.5 }\n'
    )
    catalog = load_catalog(extra, Timeouts(connect=1, first_token=30, idle=20, total=90))
    assert catalog.resolve("anthropic/fast-one").timeouts == Timeouts(connect=1, first_token=2.5, idle=20, total=90)
    assert entry(catalog, "anthropic/claude-sonnet-4-5").timeouts == Timeouts(
        connect=1, first_token=30, idle=20, total=90
    )
