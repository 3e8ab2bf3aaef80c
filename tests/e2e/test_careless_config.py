"""Issue 10 item 12 against real gateway processes: careless configuration and careless clients."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx2 as httpx
import pytest

from support.servers import Gateway, gateway_env, gateway_process


def test_an_empty_redis_url_means_no_redis(tmp_path: Path, sandbox_url: str) -> None:
    """``OPENTOKEN_REDIS_URL=`` (set but empty, as a template leaves it) starts a one-replica gateway."""
    with gateway_process(gateway_env(tmp_path, sandbox_url, OPENTOKEN_REDIS_URL="")) as gw:
        assert httpx.get(gw.url + "/healthz").status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_metrics_auth_scheme_is_case_insensitive(gateway: Gateway, scheme: str) -> None:
    r = httpx.get(gateway.url + "/metrics", headers={"Authorization": f"{scheme} {gateway.admin_key}"})
    assert r.status_code == 200, r.text
    wrong = httpx.get(gateway.url + "/metrics", headers={"Authorization": f"{scheme} not-the-key"})
    assert wrong.status_code == 401


def _raw(gateway: Gateway, request: bytes) -> bytes:
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize("path", ["/healthz/", "/v1/models/", "/admin/v1/keys/"])
def test_the_host_header_is_never_echoed_into_a_redirect(gateway: Gateway, path: str) -> None:
    head = _raw(gateway, f"GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode())
    assert b"evil.example" not in head
    assert not head.lower().startswith((b"http/1.1 301", b"http/1.1 302", b"http/1.1 307", b"http/1.1 308"))
