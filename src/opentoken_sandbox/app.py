"""The sandbox application: both providers on one port, plus control endpoints.

- Anthropic: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens`` (query strings such as ``?beta=true``
  are ignored), ``GET /v1/models``
- Gemini: ``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent?alt=sse``, ``:countTokens``,
  ``:embedContent`` and ``:batchEmbedContents``; ``GET /v1beta/models``
- Control: ``/_sandbox/requests``, ``/_sandbox/faults``, ``/_sandbox/cache``, ``/_sandbox/models``,
  ``/healthz`` (see ``control``)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from opentoken_sandbox import control
from opentoken_sandbox.anthropic import listing as anthropic_listing
from opentoken_sandbox.anthropic.handler import count_tokens, messages
from opentoken_sandbox.config import SandboxConfig
from opentoken_sandbox.gemini import listing as gemini_listing
from opentoken_sandbox.gemini.handler import models_action
from opentoken_sandbox.state import STATE, SandboxState

_MAX_BODY = 40 * 1024 * 1024


def build_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(client_max_size=_MAX_BODY)
    state = app[STATE] = SandboxState.create(config or SandboxConfig())
    control.reset_model_lists(state)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", anthropic_listing.list_models)
    app.router.add_post("/v1beta/models/{target}", models_action)
    app.router.add_get("/v1beta/models", gemini_listing.list_models)
    if app[STATE].config.control:
        control.add_routes(app)
    else:
        app.router.add_get("/healthz", control.health)
    return app


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)  # benchmarks open hundreds of connections a second
    await site.start()
    bound = runner.addresses[0]
    return runner, f"http://{host}:{bound[1]}"


@contextlib.asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the sandbox in the current event loop; yields its base URL (``http://127.0.0.1:PORT``)."""
    runner, url = await _start(build_app(config), host, port)
    try:
        yield url
    finally:
        await runner.cleanup()


async def _serve_forever(host: str, port: int, config: SandboxConfig | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner, url = await _start(build_app(config), host, port)
    print(f"sandbox listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(host: str, port: int, config: SandboxConfig | None = None) -> None:
    """Serve until SIGINT/SIGTERM; prints ``sandbox listening on http://host:port`` once bound.

    Runs on uvloop when it is installed (a dependency of the gateway), as the gateway does, so that a
    benchmark measures the gateway rather than the simulated upstream's event loop.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve_forever(host, port, config))
        return
    uvloop.run(_serve_forever(host, port, config))
