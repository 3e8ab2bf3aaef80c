"""The gateway with the proposed hot-path changes applied by patching, to measure them before they are made.

    OPENTOKEN_... python -m bench.proposals.patched_gateway --port 8001 --patches client,frames

Patches (each one stands for a change proposed in docs/benchmarks.md, "What would close the gaps"):

- ``client``: the upstream client is the prototype in ``bench.proposals.h1client`` (asyncio protocol +
  httptools) instead of aiohttp's ``ClientSession``.
- ``frames``: a stream's frames are sent one write per upstream network read (all the events that read
  carried), not one write per frame.
- ``gc`` (not in the default set): ``gc.freeze()`` after the imports, so full collections skip the ~1,000
  modules' objects.

This reaches into private parts of ``opentoken`` on purpose and is only for benchmarking: it may stop
working when those parts change (it then fails at start-up, and ``python -m bench`` reports the section).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn

PATCHES = ("client", "frames")  # the former ``ledger`` patch is now opentoken.stores.sql.sqlite_appender
EXTRA = ("gc",)  # measured on demand, not part of the default set


class _Content:
    def __init__(self, reply: Any) -> None:
        self._chunks = reply.chunks().__aiter__()

    async def readany(self) -> bytes:
        try:
            return bytes(await self._chunks.__anext__())
        except StopAsyncIteration:
            return b""


class _Response:
    """The parts of ``aiohttp.ClientResponse`` that ``UpstreamCall`` uses."""

    def __init__(self, reply: Any) -> None:
        self._reply = reply
        self.status = reply.status
        self.closed = False
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reply.headers}
        self.content = _Content(reply)

    async def read(self) -> bytes:
        return bytes(await self._reply.read())

    def release(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True
        self._reply.close()


def patch_client() -> None:
    from bench.proposals.h1client import H1Pool
    from opentoken.upstream import client

    pools: dict[str, H1Pool] = {}

    async def send(self: Any, deployment: Any, request: Any, timeouts: Any, deadline: float | None = None) -> Any:
        deadline = time.monotonic() + timeouts.total if deadline is None else deadline
        pool = pools.get(deployment.base_url)
        if pool is None:
            url = urlsplit(deployment.base_url)
            pool = pools[deployment.base_url] = H1Pool(url.hostname or "127.0.0.1", url.port or 80)
        headers = {**request.headers, **deployment.provider.auth_headers(deployment.api_key)}
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            resp = _Response(
                await pool.post(request.path, [(k.encode(), v.encode()) for k, v in headers.items()], request.body)
            )
            if resp.status >= 300:
                raise deployment.provider.parse_error(resp.status, resp.headers, await resp.read())
        return client.UpstreamCall(resp, timeouts, deadline)

    client.UpstreamClient.send = send


def patch_frames() -> None:
    from opentoken import pipeline
    from opentoken.api.response import usage_out
    from opentoken.api.stream import DONE, ChunkWriter
    from opentoken.core.errors import GatewayError
    from opentoken.routing import stream
    from opentoken.upstream.client import UpstreamCall
    from opentoken.upstream.sse import SSEParser

    async def batches(self: Any) -> AsyncIterator[list[Any]]:
        parser, content = SSEParser(), self._resp.content
        try:
            while chunk := await content.readany():
                if events := parser.feed(chunk):
                    yield events
            if events := parser.close():
                yield events
        finally:
            self.close()

    async def decode(self: Any) -> AsyncIterator[list[Any]]:
        async for sses in self._call.batches():
            events = [ev for sse in sses for ev in self._decoder.feed(sse)]
            for ev in events:
                self.folder.add(ev)
            yield events
        tail = self._decoder.close()
        for ev in tail:
            self.folder.add(ev)
        if tail:
            yield tail

    init = stream.LiveStream.__init__

    def live_init(self: Any, call: Any, decoder: Any) -> None:
        init(self, call, decoder)
        self._source = decode(self)

    async def prime(self: Any) -> None:
        async for events in self._source:
            self._held.extend(events)
            if any(isinstance(ev, stream.CONTENT) for ev in events):
                break
        else:
            self._ended = True
        self._primed = True

    async def live_batches(self: Any) -> AsyncIterator[list[Any]]:
        held, self._held = self._held, []
        if held:
            yield held
        if not self._ended:
            async for events in self._source:
                yield events

    async def frames(self: Any, request: Any, routed: Any, meter: Any, completion_id: str) -> AsyncIterator[bytes]:
        live = routed.value
        writer = ChunkWriter(id=completion_id, created=int(time.time()), model=routed.model.id)
        try:
            yield b""
            async for events in live.batches():
                out = [frame for ev in events for frame in writer.event(ev)]
                if out:
                    meter.mark_first_token()
                    yield b"".join(out)
            result = live.folder.result()
            await self._keep_replay(result, meter.key.id)
            cost = await meter.finish(result.usage)
            usage = [writer.usage(usage_out(result.usage, cost))] if request.include_usage else []
            yield b"".join([*usage, DONE])
        except GatewayError as e:
            await meter.finish(live.folder.usage, status=200, error_code=e.code)
            yield writer.error(e.message, e.type, e.param, e.code)
        except (asyncio.CancelledError, GeneratorExit):
            meter.abandon(live.folder.usage, *self._cut())
            raise
        finally:
            live.close()
            routed.lease.release()

    UpstreamCall.batches = batches
    stream.LiveStream.__init__ = live_init
    stream.LiveStream.prime = prime
    stream.LiveStream.batches = live_batches
    pipeline.Pipeline._stream = frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--patches", default=",".join(PATCHES), help=f"comma-separated, out of {','.join(PATCHES)}")
    args = parser.parse_args()
    chosen = {p for p in args.patches.split(",") if p}
    if chosen - set(PATCHES) - set(EXTRA):
        raise SystemExit(f"unknown patches: {', '.join(sorted(chosen - set(PATCHES) - set(EXTRA)))}")
    if "client" in chosen:
        patch_client()
    if "frames" in chosen:
        patch_frames()
    from opentoken.app import build_app
    from opentoken.settings import load_settings

    settings = load_settings(port=args.port)
    if "gc" in chosen:
        import gc

        gc.collect()
        gc.freeze()
    uvicorn.run(
        build_app(settings),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
