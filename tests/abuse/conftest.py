"""A gateway process with tight, known bounds for the abuse suite, and tools to measure it from outside."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx2 as httpx
import psutil
import pytest

from support.servers import Gateway, gateway_env, gateway_process

# the bounds this gateway is started with (each test states which one it proves)
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
TOTAL_TIMEOUT = 4.0
STALL_SECONDS = 2.0
MAX_HEADER_BYTES = 32 * 1024


@pytest.fixture(scope="session")
def bounded(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = gateway_env(
        tmp_path_factory.mktemp("abuse"),
        sandbox_url,
        OPENTOKEN_REQUEST_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        OPENTOKEN_REQUEST_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        OPENTOKEN_TOTAL_TIMEOUT_SECONDS=str(TOTAL_TIMEOUT),
        OPENTOKEN_STREAM_STALL_SECONDS=str(STALL_SECONDS),
        OPENTOKEN_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        OPENTOKEN_LOG_LEVEL="warning",
    )
    with gateway_process(env) as gw:
        yield gw


def port_of(gw: Gateway) -> int:
    return int(gw.url.rsplit(":", 1)[1])


def rss_mb(gw: Gateway) -> float:
    return float(psutil.Process(gw.proc.pid).memory_info().rss) / 2**20


def open_connections(gw: Gateway) -> int:
    return sum(1 for c in psutil.Process(gw.proc.pid).net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED)


def healthz_ms(gw: Gateway) -> float:
    started = time.perf_counter()
    r = httpx.get(gw.url + "/healthz", timeout=5)
    assert r.status_code == 200
    return (time.perf_counter() - started) * 1000


def connect(gw: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(gw)), timeout=10)


def read_until_closed(s: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    s.settimeout(timeout)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.monotonic() - started


def new_key(gw: Gateway, **fields: object) -> str:
    r = httpx.post(
        gw.url + "/admin/v1/keys",
        headers={"Authorization": f"Bearer {gw.admin_key}"},
        json={"name": "abuse", **fields},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])
