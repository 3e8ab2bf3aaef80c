"""``opentoken serve --workers N``: a supervisor process and N worker processes answering on one port.

The supervisor binds the port once and the workers inherit that listening socket (each accepts from the
same queue). This rather than ``SO_REUSEPORT`` because: a port already in use (or port 0) is found out once,
before any worker starts; connections waiting in the queue are taken by the other workers when one dies
(with ``SO_REUSEPORT`` each worker has its own queue, and the connections waiting in a dead worker's queue
are reset); and no other process can join the port.

Before starting the workers the supervisor migrates the database (once), starts the sandbox if a provider
needs it (once, shared), and serves the rate-limit counters and the key/catalog-change relay to the workers
on a Unix socket (``stores.local``). A worker that dies is replaced. SIGTERM or SIGINT is forwarded to
every worker, which drains as a single ``serve`` does (``/readyz`` 503, the shutdown delay, the drain, the
ledger written out); the supervisor exits 0 once every worker has exited 0. A second signal is forwarded
too (it cuts the drain short).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from opentoken.app.deployments import sandbox_config, sandboxed_providers
from opentoken.providers.registry import all_providers
from opentoken.serving.run import STARTUP_FAILED
from opentoken.serving.worker import WorkerSpec, encode_spec
from opentoken.settings import Settings
from opentoken.stores.factory import run_migrations
from opentoken.stores.local.server import CounterServer
from opentoken_sandbox.app import running_sandbox

log = logging.getLogger("opentoken")

BACKLOG = 2048
_POLL_SECONDS = 0.05
_QUICK_DEATH_SECONDS = 1.0  # a worker that dies sooner than this after its start is replaced after a pause
_MAX_PAUSE_SECONDS = 10.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


@dataclass(slots=True)
class _Worker:
    number: int
    proc: subprocess.Popen[bytes]
    started: float


class Supervisor:
    def __init__(self, settings: Settings, count: int, host: str | None, port: int | None) -> None:
        self._settings = settings
        self._count = count
        self._host = host
        self._port = port
        self._workers: dict[int, _Worker] = {}
        self._stopping = asyncio.Event()
        self._signals = 0
        self._pause = _QUICK_DEATH_SECONDS
        self.status = 0

    async def run(self, sock: socket.socket) -> int:
        settings = self._settings
        await run_migrations(settings.resolved_database_url())  # once, before any worker opens the database
        folder = tempfile.mkdtemp(prefix="opentoken-")
        counters = CounterServer()
        try:
            await counters.start(os.path.join(folder, "supervisor.sock"))
            async with contextlib.AsyncExitStack() as stack:
                sandbox_url = None
                if sandboxed_providers(settings, all_providers()):
                    sandbox_url = await stack.enter_async_context(running_sandbox(sandbox_config(settings)))
                self._spec = WorkerSpec(
                    number=0,
                    fd=sock.fileno(),
                    supervisor=os.path.join(folder, "supervisor.sock"),
                    sandbox_url=sandbox_url,
                    host=self._host,
                    port=self._port,
                )
                loop = asyncio.get_running_loop()
                for sig in _SIGNALS:
                    loop.add_signal_handler(sig, self._signalled, sig)
                for number in range(1, self._count + 1):
                    self._start(number, sock)
                await self._watch(sock)
                await self._stop_all()
        finally:
            await counters.close()
            shutil.rmtree(folder, ignore_errors=True)
        return self.status

    def _start(self, number: int, sock: socket.socket) -> None:
        spec = encode_spec(
            WorkerSpec(
                number=number,
                fd=sock.fileno(),
                supervisor=self._spec.supervisor,
                sandbox_url=self._spec.sandbox_url,
                host=self._host,
                port=self._port,
            )
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "opentoken.serving.worker", spec],
            pass_fds=(sock.fileno(),),
            process_group=0,  # a Ctrl-C in the terminal reaches the supervisor only, which forwards it once
        )
        self._workers[number] = _Worker(number, proc, time.monotonic())
        log.info("worker %d started (pid %d)", number, proc.pid)

    async def _watch(self, sock: socket.socket) -> None:
        """Replace workers that die, until a signal (or a worker that could not start) stops the service."""
        while not self._stopping.is_set():
            for worker in list(self._workers.values()):
                code = worker.proc.poll()
                if code is None:
                    continue
                del self._workers[worker.number]
                if code == STARTUP_FAILED:
                    log.error("worker %d could not start (exit status %d): stopping", worker.number, code)
                    self.status = STARTUP_FAILED
                    self._stopping.set()
                    break
                log.warning(
                    "worker %d (pid %d) exited with status %d: replacing it", worker.number, worker.proc.pid, code
                )
                if time.monotonic() - worker.started < _QUICK_DEATH_SECONDS:
                    await self._sleep(self._pause)
                    self._pause = min(self._pause * 2, _MAX_PAUSE_SECONDS)
                else:
                    self._pause = _QUICK_DEATH_SECONDS
                if not self._stopping.is_set():
                    self._start(worker.number, sock)
            await self._sleep(_POLL_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _signalled(self, sig: signal.Signals) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("%s: draining %d workers", sig.name, len(self._workers))
            self._stopping.set()
        for worker in self._workers.values():  # a second signal is forwarded too: it cuts the drain short
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGTERM if self._signals == 1 else sig)

    async def _stop_all(self) -> None:
        settings = self._settings
        for worker in self._workers.values():
            with contextlib.suppress(ProcessLookupError):
                if worker.proc.poll() is None and self._signals == 0:  # stopping for a failed start
                    worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + settings.shutdown_delay_seconds + settings.drain_seconds + 30
        for worker in self._workers.values():
            while worker.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(_POLL_SECONDS)
            if worker.proc.poll() is None:
                log.error("worker %d did not stop in time: killing it", worker.number)
                worker.proc.kill()
            code = worker.proc.wait()
            if code != 0 and self.status == 0:
                self.status = 1
                log.error("worker %d exited with status %d", worker.number, code)


def supervise(settings: Settings, count: int, host: str | None, port: int | None) -> int:
    """Run ``count`` workers on ``settings.host``/``settings.port``; returns the exit status."""
    import uvloop

    try:
        sock = listen(settings.host, settings.port)
    except OSError as e:
        log.error("could not listen on %s:%d: %s", settings.host, settings.port, e)
        return STARTUP_FAILED
    try:
        return uvloop.run(Supervisor(settings, count, host, port).run(sock))
    finally:
        sock.close()
