"""One gateway server process: uvicorn on the gateway's app, with the drain of ``opentoken serve``.

On SIGTERM or Ctrl-C, GET /readyz answers 503 at once; the server keeps serving for
``shutdown_delay_seconds`` so load balancers stop sending, then stops accepting connections, lets requests
and streams in flight finish for up to ``drain_seconds``, writes the usage ledger out and returns 0.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket
import time

import uvicorn

from opentoken.app import WorkerLink, build_app, mark_draining
from opentoken.http.server import ServerLimits, gateway_protocol
from opentoken.settings import Settings

STARTUP_FAILED = 3  # the exit status when start-up fails, as uvicorn's


def run_server(settings: Settings, worker: WorkerLink | None = None, sock: socket.socket | None = None) -> int:
    """Serve until a signal; returns the exit status. ``sock``: a listening socket to accept on (a worker's,
    inherited from the supervisor) instead of binding ``settings.host``/``settings.port``."""
    delay = settings.shutdown_delay_seconds

    class _DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            mark_draining(self.config.app)
            if delay > 0:
                logging.getLogger("opentoken").info("shutting down in %g s (/readyz answers 503)", delay)
                until = time.monotonic() + delay
                while time.monotonic() < until and not self.force_exit:  # a second Ctrl-C cuts it short
                    await asyncio.sleep(min(0.05, until - time.monotonic()))
            await super().shutdown(sockets)

    config = uvicorn.Config(
        build_app(settings, worker),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=gateway_protocol(
            ServerLimits(
                max_header_bytes=settings.max_header_bytes,
                header_timeout=settings.request_header_timeout_seconds,
                body_timeout=settings.request_body_timeout_seconds,
            )
        ),
        lifespan="on",
        ws="none",  # no WebSocket routes: uvicorn then does not import a WebSocket library
        access_log=False,  # the gateway writes its own (opentoken.access)
        log_config=None,  # uvicorn's loggers go through the handler configured by the caller (text or JSON)
        proxy_headers=settings.proxy_headers,
        server_header=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=max(1, math.ceil(settings.drain_seconds)),
    )
    server = _DrainingServer(config)
    # uvicorn drains, then re-raises the signal it caught under the handlers in place before it started: these
    # make the drained exit a clean one (status 0) instead of death by signal. A second Ctrl-C forces the exit.
    previous = {sig: signal.signal(sig, lambda signum, frame: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock] if sock is not None else None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else STARTUP_FAILED
