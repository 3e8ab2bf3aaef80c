"""The gateway with the proposed hot-path changes applied by patching, to measure them before they are made.

    OPENTOKEN_... python -m bench.proposals.patched_gateway --port 8001 --patches client

Patches (each one stands for a change proposed in docs/benchmarks.md, "What would close the gaps"):

- ``client``: the upstream client is the prototype in ``bench.proposals.h1client`` (asyncio protocol +
  httptools) instead of aiohttp's ``ClientSession``.
- ``gc`` (not in the default set): ``gc.freeze()`` after the imports, so full collections skip the ~1,000
  modules' objects.

This reaches into private parts of ``opentoken`` on purpose and is only for benchmarking: it may stop
working when those parts change (it then fails at start-up, and ``python -m bench`` reports the section).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import uvicorn

PATCHES = ("client",)  # the former ``ledger`` patch is now opentoken.stores.sql.sqlite_appender
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
    from opentoken.core.watchdog import Watchdog
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
        return client.UpstreamCall(resp, timeouts, deadline, Watchdog())  # type: ignore[arg-type]  # duck-typed response

    client.UpstreamClient.send = send  # type: ignore[method-assign]  # the patch under measurement


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
