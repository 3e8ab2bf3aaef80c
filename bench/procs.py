"""Server processes for the benchmark: start pinned to a core, wait until they answer, measure, stop.

Every process is started by this module and stopped by its own pid (never by name). CPU time and memory
come from ``/proc/PID/stat`` and ``/proc/PID/status`` (Linux), summed over the process and its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
FILE_LIMIT = 65_536


def raise_file_limit(wanted: int = FILE_LIMIT) -> int:
    """Lift RLIMIT_NOFILE (children inherit it): 10,000 held streams need ~20,000 sockets in the gateway."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (max(wanted, hard), hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target), target))
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(cores: Sequence[int] | None) -> None:
    """Pin the calling process (the load generator) to ``cores``."""
    if cores:
        os.sched_setaffinity(0, set(cores))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
    return found


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(_children(p))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB, summed over the process tree."""
    rss = hwm = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
    return rss / 1024, hwm / 1024


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def memory(self) -> tuple[float, float]:
        return memory_mb(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # not SIGINT: a shell may start us with SIGINT ignored
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    core: int | None,
    log_dir: Path,
    cwd: Path | None = None,
) -> tuple[subprocess.Popen[bytes], Path]:
    log = log_dir / f"{name}.log"
    out = open(log, "wb")  # noqa: SIM115 - handed to the child
    preexec = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    proc = subprocess.Popen(
        list(argv), env=dict(env), stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec, cwd=cwd
    )
    out.close()
    return proc, log


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{log.stem} exited with {proc.returncode} before {url} answered:\n{tail}")
        with contextlib.suppress(urllib.error.URLError, OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s (log: {log})")


def opentoken_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "opentoken", *args]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    prefixes = ("OPENTOKEN_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "LITELLM_", "OTEL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["OPENTOKEN_WORKERS"] = "1"  # one gateway process unless a section asks for more (bench/workers.py)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for s in reversed(servers):
            s.stop()


def wait_path(path: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Until ``path`` exists (a Unix socket the process binds); fails if the process exits first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear (process status {proc.poll()})")
        time.sleep(0.02)
