"""Fault injection through real processes: a gateway of its own in front of two sandbox upstreams.

For every fault this checks what the client sees (the official openai SDK, ``max_retries=0``), how many
upstream attempts the sandbox logged, and that the ledger holds exactly one right record per request.

Gateway set-up (module scope): the default deployments point at the fast sandbox; configured deployments
add a refused port ("dead-*") and a sandbox that streams 10 tokens per second ("paced"); test models in an
extra catalog file carry their own timeouts and fallbacks. The circuit breaker is tested with gateways of
its own (test_reliability_cooldown.py), SIGTERM draining in test_reliability_shutdown.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from support.reliability import USER, Ledger, Sandbox, complete, failing, sdk, stream
from support.servers import Gateway, free_port, gateway_env, gateway_process, sandbox_process

SONNET = "anthropic/claude-sonnet-4-6"
FLASH = "google/gemini-3-flash"
EXTRA_MODELS = """
[[model]]
id = "anthropic/rel-down"
upstream_model = "claude-sonnet-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "3", output = "15" }

[[model]]
id = "anthropic/rel-with-fallback"
upstream_model = "claude-sonnet-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "3", output = "15" }
fallbacks = ["anthropic/claude-sonnet-4-5"]  # retired: the fallback is answered by its successor

[[model]]
id = "anthropic/rel-ttft"
upstream_model = "claude-haiku-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "1", output = "5" }
timeouts = { first_token = 0.5 }

[[model]]
id = "anthropic/rel-total"
upstream_model = "claude-haiku-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "1", output = "5" }
timeouts = { total = 1.0 }

[[model]]
id = "anthropic/rel-idle"
upstream_model = "claude-haiku-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "1", output = "5" }
timeouts = { idle = 0.04 }

[[model]]
id = "anthropic/rel-blackhole"
upstream_model = "claude-haiku-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "1", output = "5" }
timeouts = { connect = 0.2 }

[[model]]
id = "anthropic/rel-slow"
upstream_model = "claude-haiku-4-5"
context_window = 200000
max_output_tokens = 8192
prices = { input = "1", output = "5" }
"""


@pytest.fixture(scope="module")
def fast() -> Iterator[Sandbox]:
    with sandbox_process() as url:
        yield Sandbox(url)


@pytest.fixture(scope="module")
def paced() -> Iterator[Sandbox]:
    with sandbox_process(tokens_per_second="10") as url:
        yield Sandbox(url)


@pytest.fixture(scope="module")
def blackhole() -> Iterator[str]:
    """A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
    yield f"http://127.0.0.1:{port}"
    for f in fillers:
        f.close()
    listener.close()


@pytest.fixture(scope="module")
def gw(fast: Sandbox, paced: Sandbox, blackhole: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir: Path = tmp_path_factory.mktemp("reliability")
    (data_dir / "models.toml").write_text(EXTRA_MODELS)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    deployments = [
        {"name": "dead-b", "provider": "anthropic", "base_url": dead, "models": ["anthropic/rel-down"]},
        {"name": "dead-c", "provider": "anthropic", "base_url": dead, "models": ["anthropic/rel-with-fallback"]},
        {"name": "blackhole", "provider": "anthropic", "base_url": blackhole, "models": ["*blackhole"]},
        {"name": "paced", "provider": "anthropic", "base_url": paced.url, "models": ["anthropic/rel-idle", "*slow"]},
    ]
    env = gateway_env(
        data_dir,
        fast.url,
        OPENTOKEN_CATALOG_FILE=str(data_dir / "models.toml"),
        OPENTOKEN_DEPLOYMENTS=json.dumps(deployments),
        OPENTOKEN_MAX_ATTEMPTS="3",
        OPENTOKEN_RETRY_MAX_SECONDS="1.5",
        OPENTOKEN_COOLDOWN_FAILURES="1000",  # no breaker here: tests stay independent (see test_reliability_cooldown)
    )
    with gateway_process(env) as gw:
        yield gw


@pytest.fixture
def client(gw: Gateway) -> openai.OpenAI:
    return sdk(gw)


@pytest.fixture
def ledger(gw: Gateway, fast: Sandbox, paced: Sandbox) -> Ledger:
    fast.reset()
    paced.reset()
    book = Ledger(gw)
    book.mark()
    return book


def statuses(sandbox: Sandbox) -> list[int | None]:
    return [r["status"] for r in sandbox.requests()]


# ---- retries before the first byte -------------------------------------------------------------------------


# Anthropic marks its 500 (and the sandbox its 502) ``x-should-retry: false``; that is honoured (next test)
RETRIED = [(FLASH, s) for s in (429, 500, 502, 503, 504, 529)] + [(SONNET, s) for s in (429, 503, 504, 529)]


@pytest.mark.parametrize("is_stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "status"), RETRIED)
def test_retryable_status_is_retried(
    client: openai.OpenAI, fast: Sandbox, ledger: Ledger, model: str, is_stream: bool, status: int
) -> None:
    fast.fault(status=status, retry_after=0)
    if is_stream:
        got = stream(client, model=model, messages=USER)
        assert got.error is None and got.finish == "stop" and "paperclip" in got.text
        rid = got.request_id
    else:
        rid, resp = complete(client, model=model, messages=USER)
        assert "paperclip" in (resp.choices[0].message.content or "")
    first, second = statuses(fast)
    assert first is not None and first >= 429 and second == 200
    row = ledger.one(rid)
    assert (row["status"], row["attempts"], row["error_code"], row["model"]) == (200, 2, None, model)
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0


@pytest.mark.parametrize("status", [500, 502])
def test_provider_says_do_not_retry(client: openai.OpenAI, fast: Sandbox, ledger: Ledger, status: int) -> None:
    """``x-should-retry: false`` is not retried on the same model, but another model may still answer."""
    fast.fault(count=3, status=status, provider="anthropic")
    rid, err = failing(client, model=SONNET, messages=USER)
    assert err.status_code == 502 and err.code == "upstream_error"
    assert statuses(fast) == [status]
    row = ledger.one(rid)
    assert (row["attempts"], row["status"]) == (1, 502)
    ledger.mark()
    rid, resp = complete(client, model=SONNET, messages=USER, extra_body={"models": [FLASH]})
    assert resp.model == FLASH
    assert [r["provider"] for r in fast.requests()] == ["anthropic", "anthropic", "google"]
    assert ledger.one(rid)["attempts"] == 2


def test_persistent_failure_uses_every_attempt(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(count=5, status=529)
    rid, err = failing(client, model=SONNET, messages=USER)
    assert err.status_code == 503 and err.code == "overloaded"
    assert statuses(fast) == [529, 529, 529]
    row = ledger.one(rid)
    assert (row["status"], row["attempts"], row["error_code"], row["output_tokens"]) == (503, 3, "overloaded", 0)


@pytest.mark.parametrize("status", [400, 404])
def test_request_errors_are_not_retried(client: openai.OpenAI, fast: Sandbox, ledger: Ledger, status: int) -> None:
    fast.fault(count=3, status=status)
    rid, err = failing(client, model=SONNET, messages=USER)
    assert err.status_code == status
    assert statuses(fast) == [status]
    row = ledger.one(rid)
    assert (row["status"], row["attempts"]) == (status, 1)


def test_retry_after_is_honoured(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(status=429, retry_after=1)
    started = time.monotonic()
    rid, _ = complete(client, model=SONNET, messages=USER)
    assert time.monotonic() - started >= 1.0
    first, second = fast.requests()
    assert second["time"] - first["time"] >= 1.0
    assert ledger.one(rid)["attempts"] == 2


def test_retry_after_beyond_the_cap_goes_to_the_client(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(status=429, retry_after=20)
    rid, err = failing(client, model=SONNET, messages=USER)
    assert err.status_code == 429 and err.response.headers["retry-after"] == "20"
    assert statuses(fast) == [429]
    row = ledger.one(rid)
    assert (row["status"], row["attempts"]) == (429, 1)


def test_dropped_connection_without_reply_is_retried(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(drop_after=0)
    rid, resp = complete(client, model=SONNET, messages=USER)
    assert resp.choices[0].finish_reason == "stop"
    assert len(fast.requests()) == 2
    assert ledger.one(rid)["attempts"] == 2


@pytest.mark.parametrize(
    ("model", "fault"),
    [
        (SONNET, {"after_events": 0}),  # an in-stream error as the very first event
        (SONNET, {"after_events": 3, "status": 529}),  # message_start, content_block_start, ping, then an error
        (SONNET, {"drop_after": 0}),  # headers, then the connection drops
        (SONNET, {"drop_after": 2}),  # dropped before any content
        (FLASH, {"after_events": 0}),
        (FLASH, {"drop_after": 0}),
    ],
)
def test_stream_failing_before_content_is_retried(
    client: openai.OpenAI, fast: Sandbox, ledger: Ledger, model: str, fault: dict[str, int]
) -> None:
    fast.fault(**fault)
    got = stream(client, model=model, messages=USER)
    assert got.error is None and got.finish == "stop" and "paperclip" in got.text
    assert len(fast.requests()) == 2
    row = ledger.one(got.request_id)
    assert (row["status"], row["attempts"], row["error_code"]) == (200, 2, None)
    assert row["output_tokens"] > 0


# ---- after the first byte ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fault", "code"),
    [
        (SONNET, {"after_events": 6, "status": 529}, "overloaded"),
        (SONNET, {"drop_after": 6}, "upstream_unreachable"),
        (FLASH, {"after_events": 2, "status": 500}, "upstream_error"),
        (FLASH, {"drop_after": 2}, "upstream_unreachable"),
    ],
)
def test_mid_stream_failure_is_one_error_chunk(
    client: openai.OpenAI, fast: Sandbox, ledger: Ledger, model: str, fault: dict[str, int], code: str
) -> None:
    fast.fault(**fault)
    got = stream(client, model=model, messages=[{"role": "user", "content": "Tell me a long story."}])
    assert got.text, "content reached the client before the failure"
    assert got.error is not None and got.finish is None
    assert isinstance(got.error.body, dict) and got.error.body.get("code") == code
    assert len(fast.requests()) == 1  # no failover after the first byte
    row = ledger.one(got.request_id)
    assert (row["status"], row["attempts"], row["error_code"]) == (200, 1, code)
    assert row["input_tokens"] > 0  # the usage seen so far is billed


# ---- deployments, cooldowns and fallbacks ------------------------------------------------------------------


def test_refused_connections_exhaust_the_attempts(client: openai.OpenAI, ledger: Ledger) -> None:
    rid, err = failing(client, model="anthropic/rel-down", messages=USER)
    assert err.status_code == 502 and err.code == "upstream_unreachable"
    row = ledger.one(rid)
    assert (row["status"], row["attempts"], row["error_code"]) == (502, 3, "upstream_unreachable")


def test_catalog_fallback_answers(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    rid, resp = complete(client, model="anthropic/rel-with-fallback", messages=USER)
    assert resp.model == SONNET  # the catalog fallback names the retired Sonnet 4.5, whose successor answers
    assert [r["model"] for r in fast.requests()] == ["claude-sonnet-4-6"]
    row = ledger.one(rid)
    assert (row["model"], row["attempts"], row["status"]) == (SONNET, 4, 200)


@pytest.mark.parametrize("is_stream", [False, True], ids=["json", "stream"])
def test_request_fallback_crosses_providers(
    client: openai.OpenAI, fast: Sandbox, ledger: Ledger, is_stream: bool
) -> None:
    fast.fault(count=3, status=529, provider="anthropic")
    kw: dict[str, Any] = {"model": SONNET, "messages": USER, "extra_body": {"models": [FLASH]}}
    if is_stream:
        got = stream(client, **kw)
        assert got.error is None and got.model == FLASH
        rid = got.request_id
    else:
        rid, resp = complete(client, **kw)
        assert resp.model == FLASH
    assert [r["provider"] for r in fast.requests()] == ["anthropic"] * 3 + ["google"]
    row = ledger.one(rid)
    assert (row["model"], row["provider"], row["attempts"], row["status"]) == (FLASH, "google", 4, 200)


def test_request_error_does_not_fall_back(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(status=400)
    rid, err = failing(client, model=SONNET, messages=USER, extra_body={"models": [FLASH]})
    assert err.status_code == 400
    assert len(fast.requests()) == 1
    assert ledger.one(rid)["attempts"] == 1


def test_unknown_fallback_model_is_a_400_naming_it(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    _, err = failing(client, model=SONNET, messages=USER, extra_body={"models": [FLASH, "google/nope"]})
    assert err.status_code == 400 and isinstance(err.body, dict) and err.body["param"] == "models[1]"
    assert fast.requests() == []
    ledger.new(0)


# ---- timeouts ----------------------------------------------------------------------------------------------


def test_slow_first_token_is_retried(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(delay_ms=1500)
    started = time.monotonic()
    got = stream(client, model="anthropic/rel-ttft", messages=USER)
    assert got.error is None and got.finish == "stop"
    assert 0.5 <= time.monotonic() - started < 1.4
    first, _second = fast.requests()
    assert first["closed_at"] is not None  # the gateway gave up on it
    assert ledger.one(got.request_id)["attempts"] == 2


def test_first_token_timeout_is_a_504(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(count=3, delay_ms=1500)
    rid, err = failing(client, model="anthropic/rel-ttft", messages=USER, stream=True)
    assert err.status_code == 504 and err.code == "timeout"
    assert len(fast.requests()) == 3
    row = ledger.one(rid)
    assert (row["status"], row["attempts"], row["error_code"]) == (504, 3, "timeout")


def test_connect_timeout_is_a_504(client: openai.OpenAI, ledger: Ledger) -> None:
    started = time.monotonic()
    rid, err = failing(client, model="anthropic/rel-blackhole", messages=USER)
    assert err.status_code == 504 and err.code == "timeout" and "connect" in err.message
    assert 0.6 <= time.monotonic() - started < 2.0  # three attempts of 0.2 s
    row = ledger.one(rid)
    assert (row["status"], row["attempts"], row["error_code"]) == (504, 3, "timeout")


def test_total_timeout_is_a_504(client: openai.OpenAI, fast: Sandbox, ledger: Ledger) -> None:
    fast.fault(delay_ms=3000)
    started = time.monotonic()
    rid, err = failing(client, model="anthropic/rel-total", messages=USER)
    assert 1.0 <= time.monotonic() - started < 2.5  # the upstream would have taken 3 s
    assert err.status_code == 504 and err.code == "timeout"
    (only,) = fast.requests()
    assert only["closed_at"] is not None
    row = ledger.one(rid)
    assert (row["attempts"], row["status"]) == (1, 504)


def test_idle_gap_mid_stream_is_an_error_chunk(client: openai.OpenAI, paced: Sandbox, ledger: Ledger) -> None:
    got = stream(client, model="anthropic/rel-idle", messages=USER)
    assert got.text and got.error is not None
    assert isinstance(got.error.body, dict) and got.error.body["code"] == "timeout"
    assert len(paced.requests()) == 1
    row = ledger.one(got.request_id)
    assert (row["status"], row["error_code"], row["attempts"]) == (200, "timeout", 1)


# ---- the client goes away; a slow upstream does not slow the others ----------------------------------------


def test_disconnect_mid_stream_cancels_upstream_quickly(gw: Gateway, paced: Sandbox, ledger: Ledger) -> None:
    client = sdk(gw)
    with client.chat.completions.with_streaming_response.create(
        model="anthropic/rel-slow", messages=USER, stream=True, max_tokens=200
    ) as resp:
        rid = resp.headers["x-request-id"]
        chunks = resp.parse()
        for _, _chunk in zip(range(3), chunks, strict=False):
            pass
        closed = time.time()
    upstream = paced.wait_closed()
    assert upstream["closed_at"] - closed < 0.1
    row = ledger.one(rid)
    assert (row["status"], row["error_code"], row["attempts"]) == (499, "client_disconnected", 1)
    assert row["input_tokens"] > 0


@pytest.mark.parametrize("is_stream", [False, True], ids=["json", "stream"])
def test_disconnect_before_first_byte_cancels_upstream_quickly(
    gw: Gateway, fast: Sandbox, ledger: Ledger, is_stream: bool
) -> None:
    fast.fault(delay_ms=5000)
    client = sdk(gw, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=SONNET, messages=USER, stream=is_stream)
    closed = time.time()
    upstream = fast.wait_closed()
    assert upstream["closed_at"] - closed < 0.1
    row = ledger.new(1)[0]
    assert (row["status"], row["error_code"], row["attempts"]) == (499, "client_disconnected", 1)


def test_slow_upstream_does_not_slow_other_requests(gw: Gateway, fast: Sandbox, ledger: Ledger) -> None:
    """Four calls wait 1.5 s for their upstream; twenty others go through meanwhile, each at its usual speed."""
    slow_client = sdk(gw)
    slow_ends: list[float] = []

    def slow() -> None:
        slow_client.chat.completions.create(
            model=SONNET, messages=[{"role": "user", "content": "hi [[fault:delay_ms=1500]]"}]
        )
        slow_ends.append(time.monotonic())

    threads = [threading.Thread(target=slow) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.1)
    client = sdk(gw)
    fast_times = []
    for _ in range(20):
        t0 = time.monotonic()
        client.chat.completions.create(model=FLASH, messages=USER)
        fast_times.append(time.monotonic() - t0)
    fast_done = time.monotonic()
    for t in threads:
        t.join()
    assert max(fast_times) < 0.5, fast_times
    assert len(slow_ends) == 4 and fast_done < min(slow_ends)  # all twenty answered while the slow ones waited
    assert min(slow_ends) - started >= 1.5
    ledger.new(24)


def test_health_while_busy(gw: Gateway) -> None:
    assert httpx.get(gw.url + "/healthz").status_code == 200
