"""What the gateway's HTTP server does at the edges (issue 10 items 9 and 10): an unexpected error keeps
keep-alive framing honest and carries ``x-request-id``; HTTP/1.0 clients get streams without chunked
framing. Against real server processes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.servers import Gateway, free_port, gateway_env, wait_http

FAILING = Path(__file__).parents[1] / "support" / "failing_gateway.py"


@pytest.fixture(scope="module")
def failing(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    env = gateway_env(tmp_path_factory.mktemp("failing"), sandbox_url)
    proc = subprocess.Popen([sys.executable, str(FAILING), str(port)], env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(15)


def exchange(sock: socket.socket, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send one request on ``sock`` and read one response framed by its content-length."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed before a response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return status.encode(), headers, body


def test_a_500_says_the_connection_closes_and_names_the_request(failing: int) -> None:
    with socket.create_connection(("127.0.0.1", failing), timeout=10) as s:
        status, headers, body = exchange(s, b"GET /_bug HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 500 ")
        assert headers["x-request-id"].startswith("req_")
        assert headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "internal_error"
        assert s.recv(1) == b""  # closed, as announced: a keep-alive client opens a new one
    with socket.create_connection(("127.0.0.1", failing), timeout=10) as s:  # the server is fine
        status, _, _ = exchange(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 200 ")
        status, _, _ = exchange(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # and keeps its keep-alive
        assert status.startswith(b"HTTP/1.1 200 ")


def test_a_bug_after_the_first_byte_cuts_the_chunked_body_visibly(failing: int) -> None:
    with socket.create_connection(("127.0.0.1", failing), timeout=10) as s:
        s.sendall(b"GET /_bug_midway HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ") and b"partial" in data
    assert not data.endswith(b"0\r\n\r\n")  # no terminating chunk: the client sees a truncated body


def test_http_10_streams_are_not_chunked(gateway: Gateway) -> None:
    body = json.dumps(
        {"model": "anthropic/claude-haiku-4-5", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {gateway.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):  # HTTP/1.0: the body ends when the server closes
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head.lower()
    assert payload.startswith(b"data: {")
    assert payload.endswith(b"data: [DONE]\n\n")
    assert not re.search(rb"\r\n[0-9a-f]+\r\n", payload)
    for event in payload.split(b"\n\n")[:-2]:
        json.loads(event.removeprefix(b"data: "))
