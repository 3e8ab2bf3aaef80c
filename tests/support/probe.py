"""Probe a gateway's ``/healthz`` from a separate process while a test loads it.

The probe runs outside the test process so that the test's own work (generating fuzz cases, encoding
bodies) cannot delay the measurement. It asks every ``INTERVAL`` seconds on one keep-alive connection and
reports every latency when stopped.

    with HealthProbe(url) as probe:
        ... load the gateway ...
    probe.latencies_ms  # sorted
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import TracebackType

INTERVAL = 0.02

_SCRIPT = r"""
import json, select, socket, sys, time
host, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
request = b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n"
out = []
sock = None
while not select.select([sys.stdin], [], [], interval)[0]:
    if sock is None:
        sock = socket.create_connection((host, port), timeout=30)
    started = time.perf_counter()
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            sock = None
            break
        data += chunk
    if sock is not None:
        out.append((time.perf_counter() - started) * 1000)
print(json.dumps(out))
"""


class HealthProbe:
    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._args = [sys.executable, "-c", _SCRIPT, host, port, str(INTERVAL)]
        self._proc: subprocess.Popen[str] | None = None
        self.latencies_ms: list[float] = []

    def __enter__(self) -> HealthProbe:
        self._proc = subprocess.Popen(self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        assert self._proc is not None
        out, _ = self._proc.communicate("stop\n", timeout=60)
        self.latencies_ms = sorted(json.loads(out))

    def percentile(self, p: float) -> float:
        assert self.latencies_ms, "the probe measured nothing"
        return self.latencies_ms[min(len(self.latencies_ms) - 1, int(len(self.latencies_ms) * p))]

    @property
    def worst(self) -> float:
        return self.percentile(1.0)
