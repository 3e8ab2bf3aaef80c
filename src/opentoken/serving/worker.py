"""A worker process of ``opentoken serve --workers N``, started by the supervisor as
``python -m opentoken.serving.worker SPEC`` with the listening socket inherited as file descriptor ``SPEC.fd``.

It serves exactly as a single ``serve`` process does, with the counters and the key-change relay of the
supervisor (``stores.local``), the database the supervisor migrated and the supervisor's sandbox. If the
supervisor goes away without stopping it (killed), the worker drains and exits on its own.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

import msgspec

from opentoken.app import WorkerLink
from opentoken.http.access import configure_logging
from opentoken.serving.run import run_server
from opentoken.settings import load_settings

_PARENT_POLL_SECONDS = 0.5


class WorkerSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: int
    fd: int  # the supervisor's listening socket
    supervisor: str  # the supervisor's Unix socket
    sandbox_url: str | None = None
    host: str | None = None  # the command line's --host / --port, as the supervisor was given them
    port: int | None = None


def encode_spec(spec: WorkerSpec) -> str:
    return msgspec.json.encode(spec).decode()


def _watch_parent(parent: int) -> None:
    """SIGTERM this process (a graceful drain) once its parent, the supervisor, is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(_PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="opentoken-parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    spec = msgspec.json.decode(argv[1], type=WorkerSpec)
    overrides = {k: v for k, v in (("host", spec.host), ("port", spec.port)) if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    _watch_parent(os.getppid())
    sock = socket.socket(fileno=spec.fd)
    link = WorkerLink(number=spec.number, supervisor=spec.supervisor, sandbox_url=spec.sandbox_url)
    return run_server(settings, link, sock)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
