"""Abuse at the connection level, against a real gateway process: slow senders, header bombs, stalled
readers. Each test states the bound it proves and measures it from outside the process."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time

import httpx2 as httpx

from abuse.conftest import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_HEADER_BYTES,
    STALL_SECONDS,
    TOTAL_TIMEOUT,
    connect,
    new_key,
    open_connections,
    read_until_closed,
    rss_mb,
)
from support.probe import HealthProbe
from support.servers import Gateway

SLACK = 1.5  # seconds of scheduling slack on a shared 2-core machine


def test_slowloris_headers_are_cut_at_the_header_timeout(bounded: Gateway) -> None:
    """Bound (time, connections): 200 connections that trickle their headers are all answered 408 and
    closed within HEADER_TIMEOUT (+ slack), and /healthz answers within 100 ms meanwhile."""
    baseline = open_connections(bounded)
    with HealthProbe(bounded.url) as probe:
        socks = [connect(bounded) for _ in range(200)]
        started = time.monotonic()
        for s in socks:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        time.sleep(HEADER_TIMEOUT / 2)
        for s in socks:
            s.sendall(b"X-Slow: 1\r\n")  # bytes keep arriving: an idle timeout alone would never fire
        answers = [read_until_closed(s, HEADER_TIMEOUT + 5)[0] for s in socks]
        elapsed = time.monotonic() - started
    for s in socks:
        s.close()
    print(
        f"\nslowloris: 200 connections closed after {elapsed:.2f} s (bound {HEADER_TIMEOUT} s); "
        f"/healthz p95 {probe.percentile(0.95):.1f} ms"
    )
    assert probe.percentile(0.95) < 100
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[0]
    assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    assert elapsed < HEADER_TIMEOUT + SLACK
    assert open_connections(bounded) <= baseline + 2


def test_a_trickled_body_is_cut_at_the_body_timeout(bounded: Gateway) -> None:
    """Bound (time): a body sent a byte at a time is refused 408 within BODY_TIMEOUT (+ slack) of the head."""
    s = connect(bounded)
    s.sendall(  # a valid key: the key is checked before the body is read, so a bad one is refused at once
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + bounded.key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    s.settimeout(0.2)
    answer = b""
    while time.monotonic() - started < BODY_TIMEOUT + 5 and not answer:
        try:
            s.sendall(b" ")
            answer = s.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    elapsed = time.monotonic() - started
    s.close()
    print(f"\ntrickled body: refused after {elapsed:.2f} s (bound {BODY_TIMEOUT} s)")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert BODY_TIMEOUT - 0.2 <= elapsed < BODY_TIMEOUT + SLACK


def test_header_bomb_is_refused_with_431_without_buffering_it(bounded: Gateway) -> None:
    """Bound (bytes, memory): an 8 MB Authorization header is answered 431 after MAX_HEADER_BYTES (+ one
    read), and 20 of them at once move the gateway's RSS by less than 30 MB."""
    before = rss_mb(bounded)

    def bomb(_: int) -> bytes:
        with connect(bounded) as s:
            s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
            sent = 0
            try:
                while sent < 8 * 2**20:
                    s.sendall(b"a" * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer, _took = read_until_closed(s, 5)
            assert sent < 8 * 2**20  # the server stopped reading long before the end
            return answer

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(bomb, range(20)))
    grown = rss_mb(bounded) - before
    print(f"\nheader bombs: 20 x 8 MB, RSS {grown:+.1f} MB")
    assert all(a.startswith(b"HTTP/1.1 431 ") or a == b"" for a in answers)
    assert any(a.startswith(b"HTTP/1.1 431 ") for a in answers)
    assert grown < 30, f"RSS grew {grown:.1f} MB"
    r = httpx.get(bounded.v1 + "/models", headers={"Authorization": "Bearer " + "a" * (MAX_HEADER_BYTES // 2)})
    assert r.status_code == 401  # a large but allowed header is read and judged as usual


def _stream_request(key: str, schema: dict[str, object]) -> bytes:
    body = json.dumps(
        {
            # a reply larger than what the kernel buffers for a stalled loopback reader (the sender's buffer
            # grows up to net.ipv4.tcp_wmem's 4 MB here): at 60,000 tokens (~4.1 MB of chunks) the whole reply
            # could fit and the stream end normally, so the test would prove nothing about stalled readers
            "model": "anthropic/claude-opus-4-6",
            "stream": True,
            "max_tokens": 128000,
            "messages": [{"role": "user", "content": "Fill in the form."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "form", "schema": schema}},
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def test_stalled_readers_release_their_slots(bounded: Gateway) -> None:
    """Bound (slots, time, memory): four clients that stop reading a large stream hold the four slots of a
    ``max_concurrent=4`` key for at most the request's total timeout (+1 s grace, + slack); then the key can
    stream again. What the gateway holds for them meanwhile does not grow with the replies: 4 x ~9 MB of
    chunks stay unsent, and RSS grows by less than 16 MB (it grew by about 8 MB per stalled reader when one
    upstream read's frames went out in one send, and the slot was only freed by its lease's expiry when the
    send timed out during the metering's ledger write)."""
    readers = 4
    key = new_key(bounded, max_concurrent=readers)
    item = {"type": "string", "enum": ["x" * 1000]}
    schema = {  # a 1 KB request whose reply is ~9 MB of chunks (128,000 tokens, cut at max_tokens)
        "type": "object",
        "properties": {"rows": {"type": "array", "items": item, "minItems": 3000}},
        "required": ["rows"],
        "additionalProperties": False,
    }
    before = rss_mb(bounded)
    stalled = []
    for _ in range(readers):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that takes (almost) nothing
        s.connect(("127.0.0.1", int(bounded.url.rsplit(":", 1)[1])))
        s.sendall(_stream_request(key, schema))
        stalled.append(s)
    time.sleep(0.5)
    started = time.monotonic()
    probe = {"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.post(bounded.v1 + "/chat/completions", json=probe, headers=headers).status_code == 429
    held = rss_mb(bounded) - before
    while time.monotonic() - started < TOTAL_TIMEOUT + 1 + SLACK + 3:
        held = max(held, rss_mb(bounded) - before)
        r = httpx.post(bounded.v1 + "/chat/completions", json=probe, headers=headers, timeout=10)
        if r.status_code == 200:
            break
        time.sleep(0.2)
    freed_after = time.monotonic() - started
    for s in stalled:
        s.close()
    print(
        f"\nstalled readers: {readers} slots freed after {freed_after:.2f} s (bound {TOTAL_TIMEOUT + 1} s),"
        f" RSS {held:+.1f} MB at most"
    )
    assert r.status_code == 200, r.text
    assert freed_after < TOTAL_TIMEOUT + 1 + SLACK, f"slots held {freed_after:.1f} s"
    assert held < 16, f"RSS grew {held:.1f} MB while the readers stalled"
    assert STALL_SECONDS < TOTAL_TIMEOUT  # (which bound fires first depends on when the buffers filled)
