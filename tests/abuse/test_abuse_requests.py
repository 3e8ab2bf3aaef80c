"""Abuse through request bodies, against a real gateway process: many-URL media requests, `$ref` bombs,
body floods with bad keys. Each test states the bound it proves; three prove the order of the pipeline
(authenticate before reading a body, admit before any work)."""

from __future__ import annotations

import concurrent.futures
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from abuse.conftest import connect, new_key, read_until_closed, rss_mb
from support.probe import HealthProbe
from support.servers import Gateway

GEMINI = "google/gemini-2.5-flash"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class Images:
    def __init__(self, url: str, hits: list[str]) -> None:
        self.url, self.hits = url, hits


@pytest.fixture(scope="module")
def images() -> Iterator[Images]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Images(f"http://127.0.0.1:{server.server_address[1]}", hits)
    server.shutdown()


def chat(gw: Gateway, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gw.v1 + "/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def image_request(urls: list[str]) -> dict[str, Any]:
    parts = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"model": GEMINI, "messages": [{"role": "user", "content": [{"type": "text", "text": "look"}, *parts]}]}


def test_a_request_listing_a_thousand_image_urls_fetches_none(bounded: Gateway, images: Images) -> None:
    """Bound (fetches, memory): a 2.6 KB-per-URL-list request is refused 400 naming the 17th URL with no
    fetch at all; RSS moves less than 10 MB (it took 2.5 GB when every URL was fetched and held)."""
    before, hits = rss_mb(bounded), len(images.hits)
    r = chat(bounded, bounded.key, image_request([f"{images.url}/{i}.png" for i in range(1000)]))
    print(
        f"\n1,000 image URLs: HTTP {r.status_code}, {len(images.hits) - hits} fetched, RSS {rss_mb(bounded) - before:+.1f} MB"
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].content[17].image_url.url"
    assert len(images.hits) == hits
    assert rss_mb(bounded) - before < 10
    ok = chat(bounded, bounded.key, image_request([f"{images.url}/{i}.png" for i in range(16)]))
    assert ok.status_code == 200 and len(images.hits) == hits + 16  # the allowed number are fetched


def _bomb(levels: int) -> dict[str, Any]:
    defs: dict[str, Any] = {"l0": {"type": "string"}}
    for i in range(1, levels + 1):
        below = {"$ref": f"#/$defs/l{i - 1}"}
        defs[f"l{i}"] = {"type": "object", "properties": {"a": below, "b": below}}
    return {"type": "object", "properties": {"x": {"$ref": f"#/$defs/l{levels}"}}, "$defs": defs}


def bomb_request(levels: int = 20) -> dict[str, Any]:
    tool = {"type": "function", "function": {"name": "f", "parameters": _bomb(levels)}}
    return {"model": GEMINI, "messages": [{"role": "user", "content": "hi"}], "tools": [tool]}


def test_ref_bombs_do_not_stall_the_gateway(bounded: Gateway) -> None:
    """Bound (time on the event loop, memory): 40 depth-20 `$ref` bombs (2.3 KB each; 2**20 nodes if inlined;
    one froze every client for 19 s) sent two at a time are each a 400 naming the param after bounded work;
    /healthz, probed every 20 ms from another process, answers 95% of the time within 100 ms and never
    takes a second (the machine is shared: a single slow probe is the scheduler's, a freeze is ours); RSS
    moves by less than 30 MB."""
    before = rss_mb(bounded)
    with HealthProbe(bounded.url) as probe, concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: chat(bounded, bounded.key, bomb_request()), range(40)))
    grown = rss_mb(bounded) - before
    print(
        f"\n$ref bombs: 40 x depth 20, /healthz p50 {probe.percentile(0.5):.1f} ms, p95 {probe.percentile(0.95):.1f} ms,"
        f" worst {probe.worst:.1f} ms over {len(probe.latencies_ms)} probes, RSS {grown:+.1f} MB"
    )
    assert all(r.status_code == 400 for r in replies)
    assert {r.json()["error"]["param"] for r in replies} == {"tools[0].function.parameters"}
    assert probe.percentile(0.95) < 100 and probe.worst < 1000
    assert grown < 30


def test_a_key_out_of_budget_makes_no_schema_work(bounded: Gateway) -> None:
    """Item 1 (lead): admission comes before schema compilation, so a spent key gets its 429, not a 400."""
    key = new_key(bounded, budget_usd="0.000000001")
    r = chat(bounded, key, bomb_request())
    assert r.status_code == 429, r.text


def test_a_key_over_its_rpm_makes_no_media_fetch(bounded: Gateway, images: Images) -> None:
    """Item 2 (lead): admission comes before media fetching, so a key over its rpm fetches nothing."""
    key = new_key(bounded, rpm=1)
    assert chat(bounded, key, {"model": GEMINI, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    hits = len(images.hits)
    r = chat(bounded, key, image_request([f"{images.url}/late{i}.png" for i in range(3)]))
    assert r.status_code == 429
    assert len(images.hits) == hits


def test_bodies_sent_with_a_bad_key_are_not_read(bounded: Gateway) -> None:
    """Item 8 (lead): 30 concurrent 31 MB bodies with an invalid key get their 401 before the body is read:
    RSS moves by less than 50 MB (1,078 MB when every body was read first)."""
    before = rss_mb(bounded)
    size = 31 * 2**20
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-not-a-key\r\n"
        f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    peak = 0.0

    def flood(_: int) -> bytes:
        with connect(bounded) as s:
            s.sendall(head)
            try:
                for _ in range(size // 2**20):
                    s.sendall(b" " * 2**20)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_until_closed(s, 10)[0]

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        futures = [pool.submit(flood, i) for i in range(30)]
        while not all(f.done() for f in futures):
            peak = max(peak, rss_mb(bounded) - before)
            time.sleep(0.05)
        answers = [f.result() for f in futures]
    print(f"\nbad-key body flood: 30 x 31 MB, RSS peak {peak:+.1f} MB")
    assert all(a.startswith(b"HTTP/1.1 401 ") for a in answers)
    assert peak < 50
