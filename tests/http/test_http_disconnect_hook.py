"""The gateway's HTTP protocol tells the app when a client's connection is lost (``ON_DISCONNECT``), so a
stream needs no task waiting in ``receive``. A real uvicorn server with the gateway's protocol on 127.0.0.1,
and a real client socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from opentoken.http.disconnect import disconnect_hook
from opentoken.http.server import ServerLimits, gateway_protocol
from support.servers import free_port


@dataclass
class Seen:
    hooks: list[bool] = field(default_factory=list)  # a hook was in the scope, per request
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    forget_then_lost: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    refused_after_leaving: list[bool] = field(default_factory=list)


def app_for(seen: Seen) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        hook = disconnect_hook(scope)
        seen.hooks.append(hook is not None)
        assert hook is not None
        await receive()
        path = scope["path"]
        if path == "/late":  # register only after the client has gone
            await seen.lost.wait()
            await asyncio.sleep(0.2)
            seen.refused_after_leaving.append(not hook(lambda: None, True))
            return
        if path == "/forget":
            callback = seen.forget_then_lost.set  # one object: a callback is forgotten by identity
            assert hook(callback, True)
            hook(seen.lost.set, False)  # not the one kept: nothing forgotten
            hook(callback, False)
        else:
            assert hook(seen.lost.set, True)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        seen.started.set()
        await asyncio.sleep(30)  # a stream that never ends by itself

    return app


@contextlib.asynccontextmanager
async def serving(seen: Seen) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        app_for(seen), host="127.0.0.1", port=port, http=gateway_protocol(ServerLimits()), log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = server.force_exit = True
        await asyncio.wait_for(task, 10)


async def open_stream(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_a_client_leaving_mid_stream_calls_the_registered_callback() -> None:
    seen = Seen()
    async with serving(seen) as port:
        reader, writer = await open_stream(port, "/")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(seen.started.wait(), 5)
        assert not seen.lost.is_set()
        writer.close()
        await asyncio.wait_for(seen.lost.wait(), 2)
    assert seen.hooks == [True]


async def test_a_forgotten_callback_is_not_called() -> None:
    seen = Seen()
    async with serving(seen) as port:
        reader, writer = await open_stream(port, "/forget")
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.wait_for(seen.started.wait(), 5)
        writer.close()
        await asyncio.sleep(0.3)
        assert not seen.forget_then_lost.is_set()


async def test_the_hook_refuses_a_callback_once_the_client_has_gone() -> None:
    seen = Seen()
    async with serving(seen) as port:
        _, watcher = await open_stream(port, "/")  # tells the app when a client has gone
        await asyncio.wait_for(seen.started.wait(), 5)
        _, late = await open_stream(port, "/late")
        await asyncio.sleep(0.1)
        late.close()
        watcher.close()
        for _ in range(100):
            if seen.refused_after_leaving:
                break
            await asyncio.sleep(0.02)
    assert seen.refused_after_leaving == [True]
