"""Work a client can make the gateway do happens only after its key admits the request: a key over its
rate limit or budget gets its 429 before the gateway fetches a single image URL or compiles a tool schema.
The ``x-opentoken-ignored-params`` header never echoes client-chosen names that are not plain identifiers."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from support.servers import Gateway

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f80f0000010100005f1a0e2a0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def counting_image_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(PNG_1PX)))
            self.end_headers()
            self.wfile.write(PNG_1PX)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def new_key(gw: Gateway, **fields: Any) -> str:
    r = httpx.post(
        gw.url + "/admin/v1/keys",
        headers={"Authorization": f"Bearer {gw.admin_key}"},
        json={"name": "admission-order", **fields},
    )
    assert r.status_code == 201 or r.status_code == 200, r.text
    return str(r.json()["key"])


def chat(gw: Gateway, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gw.v1 + "/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30)


def test_rate_limited_key_fetches_no_media(gateway: Gateway, counting_image_server: tuple[str, list[str]]) -> None:
    base, hits = counting_image_server
    key = new_key(gateway, rpm=1)
    hello = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}
    assert chat(gateway, key, hello).status_code == 200
    images = [{"type": "image_url", "image_url": {"url": f"{base}/{n}.png"}} for n in range(20)]
    body = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": images}]}
    before = len(hits)
    r = chat(gateway, key, body)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert len(hits) == before  # refused before any URL was fetched


def test_admitted_request_fetches_its_media(gateway: Gateway, counting_image_server: tuple[str, list[str]]) -> None:
    base, hits = counting_image_server
    images = [{"type": "image_url", "image_url": {"url": f"{base}/ok{n}.png"}} for n in range(2)]
    body = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": images}]}
    before = len(hits)
    assert chat(gateway, gateway.key, body).status_code == 200
    assert len(hits) == before + 2  # the check above is not vacuous: an admitted request does fetch


def ref_bomb(depth: int) -> dict[str, Any]:
    """A schema whose ``$ref`` expansion doubles at every level (2**depth nodes once inlined)."""
    defs = {
        f"d{i}": {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/d{i + 1}"}, "b": {"$ref": f"#/$defs/d{i + 1}"}},
        }
        for i in range(depth)
    }
    defs[f"d{depth}"] = {"type": "string"}
    return {"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs}


def test_spent_budget_refuses_before_schema_work(gateway: Gateway) -> None:
    key = new_key(gateway, budget_usd="0.000001")
    tool = {"type": "function", "function": {"name": "f", "parameters": ref_bomb(40)}}
    body = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": "hi"}], "tools": [tool]}
    started = time.monotonic()
    r = chat(gateway, key, body)
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    assert time.monotonic() - started < 5  # 2**40 nodes were never expanded
    assert httpx.get(gateway.url + "/healthz", timeout=2).status_code == 200


def test_ignored_param_names_are_never_echoed_unsafely(gateway: Gateway) -> None:
    body: dict[str, Any] = {"model": "google/gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}
    body["naïve_ünïcode"] = 1
    body["bad\r\nX-Injected: yes"] = 2
    body.update({f"extra_field_{n}": n for n in range(2000)})
    r = chat(gateway, gateway.key, body)
    assert r.status_code == 200
    header = r.headers["x-opentoken-ignored-params"]
    assert "x-injected" not in {k.lower() for k in r.headers}
    assert len(header) < 2000 and header.endswith("more")
    assert "extra_field_0" in header and "\r" not in header and "ü" not in header
