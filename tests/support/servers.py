"""Real server processes on 127.0.0.1 for end-to-end tests: the sandbox upstream and the gateway."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def opentoken(*args: str, env: Mapping[str, str], **kw: object) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "opentoken", *args], env=dict(env), **kw
    )
    return proc


def run_cli(*args: str, env: Mapping[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "opentoken", *args], env=dict(env), capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        raise RuntimeError(f"opentoken {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENTOKEN_", "ANTHROPIC_", "GEMINI_", "GOOGLE_"))}
    env["OPENTOKEN_WORKERS"] = "1"  # one process, as each test expects; tests/e2e/test_workers.py runs several
    return env


@contextlib.contextmanager
def sandbox_process(**config: str) -> Iterator[str]:
    port = free_port()
    args = ["sandbox", "--port", str(port)]
    for k, v in config.items():
        args += [f"--{k.replace('_', '-')}", v]
    proc = opentoken(*args, env=base_env())
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Gateway:
    url: str
    key: str
    admin_key: str
    sandbox_url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]

    @property
    def v1(self) -> str:
        return self.url + "/v1"


def gateway_env(data_dir: Path, sandbox_url: str, **extra: str) -> dict[str, str]:
    env = base_env()
    env.update(
        OPENTOKEN_DATABASE_URL=f"sqlite:///{data_dir / 'gw.db'}",
        OPENTOKEN_ADMIN_KEY="admin-test-key",
        ANTHROPIC_API_KEY="sk-ant-test-secret",
        GEMINI_API_KEY="gemini-test-secret",
        OPENTOKEN_ANTHROPIC_BASE_URL=sandbox_url,
        OPENTOKEN_GEMINI_BASE_URL=sandbox_url,
        OPENTOKEN_MEDIA_ALLOW_HOSTS='["127.0.0.1"]',
        OPENTOKEN_RETRY_BASE_SECONDS="0.01",
        OPENTOKEN_RETRY_MAX_SECONDS="0.05",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def gateway_process(env: dict[str, str], port: int | None = None, log: Path | None = None) -> Iterator[Gateway]:
    """A gateway process (and a fresh key); ``log``: a file for its stdout and stderr."""
    port = port or free_port()
    key = run_cli("keys", "create", "--name", "e2e", env=env).strip().splitlines()[-1]
    out = open(log, "ab") if log is not None else None  # noqa: SIM115 (closed below, after the process)
    proc = opentoken("serve", "--port", str(port), env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc)
        yield Gateway(
            url=url,
            key=key,
            admin_key=env["OPENTOKEN_ADMIN_KEY"],
            sandbox_url=env.get("OPENTOKEN_ANTHROPIC_BASE_URL", ""),
            env=env,
            proc=proc,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out is not None:
            out.close()


PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def postgres_replicas(data_dir: Path, sandbox_url: str, schema: str, **extra: str) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateway processes on one PostgreSQL schema (``schema``, migrated first), as two replicas would run;
    ``extra``: more variables (``OPENTOKEN_REDIS_URL=REDIS`` for the shared counters and bus)."""
    env = gateway_env(data_dir, sandbox_url, OPENTOKEN_DATABASE_URL=f"{PG}?options=-csearch_path%3D{schema}", **extra)
    run_cli("migrate", env=env)
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(gateway_process(env, free_port()))
        b = stack.enter_context(gateway_process(env, free_port()))
        yield a, b
