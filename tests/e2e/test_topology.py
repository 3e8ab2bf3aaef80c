"""The scale-out topology, for real on one machine: three gateway replicas on PostgreSQL (a fresh schema) and Redis
behind HAProxy (health-checking ``GET /readyz``), mixed streaming and non-streaming load through the official
openai SDK, one replica SIGKILLed and another SIGTERMed mid-load.

Checked: every request that failed was in flight on the killed replica (HAProxy's log tells which replica
served each request, by a header the client sets); every completed response has exactly one ledger row;
a request limit and a budget hold exactly across the replicas; the SIGTERMed replica is taken out of
rotation by HAProxy before it exits, gets no request after that, finishes what it had, and exits 0.
The figures are printed (``-s`` shows them): sent, succeeded, failed and why, ledger rows vs completed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import openai
import pytest

from support.servers import PG, REDIS, free_port, gateway_env, opentoken, run_cli, sandbox_process, wait_http

HAIKU = "anthropic/claude-haiku-4-5"
FLASH = "google/gemini-3-flash"
USER = [{"role": "user", "content": "Name three uses for a paperclip."}]
LOAD_SECONDS = 7.0
KILL_AT, TERM_AT = 2.0, 3.5
WORKERS = 8
SHUTDOWN_DELAY = 2.0


@dataclass
class Replica:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    exited_at: float | None = None


@dataclass
class Call:
    test_id: str
    stream: bool
    started: float
    ended: float = 0.0
    request_id: str | None = None
    ok: bool = False
    error: str | None = None


@dataclass
class Balancer:
    port: int
    proc: subprocess.Popen[bytes]
    socket_path: Path
    log: Path
    down_at: dict[str, float] = field(default_factory=dict)

    def states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket_path))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
        return {r[1]: r[17] for r in rows if r[0] == "gateways" and r[1] not in ("BACKEND", "FRONTEND")}

    def served(self) -> dict[str, tuple[str, float, float, str]]:
        """test id -> (server, accepted at, ended at, termination state), from HAProxy's request log."""
        out = {}
        for line in self.log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 6 and parts[0].startswith("t-"):
                test_id, server, accepted_at, total_ms, state = parts[0], parts[1], parts[3], parts[4], parts[5]
                accepted = float(accepted_at)
                out[test_id] = (server.split("/")[-1], accepted, accepted + int(total_ms) / 1000, state)
        return out


def haproxy_config(port: int, replicas: list[Replica], sock: Path) -> str:
    servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port}" for r in replicas)
    return f"""
global
    log stdout format raw local0 info
    stats socket {sock} mode 600 level admin

defaults
    mode http
    log global
    log-format "%[capture.req.hdr(0)] %b/%s %ST %Ts.%ms %Tt %ts"
    option redispatch
    retries 3
    retry-on conn-failure
    option http-server-close
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 3s

frontend api
    bind 127.0.0.1:{port}
    capture request header x-test-id len 64
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 200ms fall 2 rise 2
{servers}
"""


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    schema = "topology_" + secrets.token_hex(4)
    try:
        yield schema
    finally:

        async def drop() -> None:
            conn = await asyncpg.connect(PG)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(drop())


def ledger(schema: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(PG, server_settings={"search_path": schema})
        try:
            return [dict(r) for r in await conn.fetch("SELECT request_id, key_id, cost, status FROM usage_ledger")]
        finally:
            await conn.close()

    return asyncio.run(read())


@contextlib.contextmanager
def topology(tmp: Path, sandbox: str, schema: str) -> Iterator[tuple[dict[str, str], list[Replica], Balancer]]:
    env = gateway_env(
        tmp,
        sandbox,
        OPENTOKEN_DATABASE_URL=f"{PG}?options=-csearch_path%3D{schema}",
        OPENTOKEN_REDIS_URL=REDIS,
        OPENTOKEN_SHUTDOWN_DELAY_SECONDS=str(SHUTDOWN_DELAY),
        OPENTOKEN_DRAIN_SECONDS="10",
        OPENTOKEN_LOG_LEVEL="warning",
    )
    run_cli("migrate", env=env)
    replicas: list[Replica] = []
    with contextlib.ExitStack() as stack:
        for i in (1, 2, 3):
            port = free_port()
            log = stack.enter_context(open(tmp / f"gw{i}.log", "wb"))
            proc = opentoken("serve", "--port", str(port), env=env, stdout=log, stderr=log)
            replicas.append(Replica(f"gw{i}", port, proc))
            stack.callback(_stop, proc)
        for r in replicas:
            wait_http(f"http://127.0.0.1:{r.port}/readyz", r.proc, timeout=90)
        port, sock, log_path = free_port(), tmp / "haproxy.sock", tmp / "haproxy.log"
        cfg = tmp / "haproxy.cfg"
        cfg.write_text(haproxy_config(port, replicas, sock))
        log = stack.enter_context(open(log_path, "wb"))
        balancer = Balancer(
            port, subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=log, stderr=log), sock, log_path
        )
        stack.callback(_stop, balancer.proc)
        deadline = time.monotonic() + 20
        while not (
            sock.exists() and set(_safe_states(balancer).values()) == {"UP"} and len(_safe_states(balancer)) == 3
        ):
            assert time.monotonic() < deadline, "HAProxy did not see the three replicas up"
            time.sleep(0.1)
        yield env, replicas, balancer


def _safe_states(balancer: Balancer) -> dict[str, str]:
    try:
        return balancer.states()
    except OSError:
        return {}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def admin(url: str, env: dict[str, str], **fields: Any) -> dict[str, Any]:
    r = httpx.post(
        url + "/admin/v1/keys",
        json={"name": "topology", **fields},
        headers={"authorization": f"Bearer {env['OPENTOKEN_ADMIN_KEY']}"},
    )
    assert r.status_code == 201 or r.status_code == 200, r.text
    return dict(r.json())


def one_call(client: openai.OpenAI, call: Call) -> None:
    headers = {"x-test-id": call.test_id}
    try:
        if call.stream:
            with client.chat.completions.with_streaming_response.create(
                model=FLASH, messages=USER, stream=True, max_tokens=25, extra_headers=headers
            ) as raw:
                call.request_id = raw.headers.get("x-request-id")
                finish = None
                for chunk in raw.parse():
                    for choice in chunk.choices:
                        finish = choice.finish_reason or finish
                call.ok = finish is not None
                call.error = None if call.ok else "stream ended without a finish reason"
        else:
            raw_resp = client.chat.completions.with_raw_response.create(
                model=HAIKU, messages=USER, max_tokens=25, extra_headers=headers
            )
            call.request_id = raw_resp.headers.get("x-request-id")
            call.ok = raw_resp.parse().choices[0].finish_reason is not None
    # whatever broke the call is what the figures report
    except Exception as e:  # noqa: BLE001
        status = getattr(e, "status_code", None)
        cause = f" ({type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ is not None else ""
        call.error = f"{type(e).__name__}{f' {status}' if status else ''}{cause}"
    call.ended = time.monotonic()


@pytest.mark.timeout(300)  # about 30 s on an idle machine; starting five processes takes longer on a busy one
def test_three_replicas_behind_haproxy_survive_sigkill_and_sigterm(tmp_path: Path) -> None:
    with (
        sandbox_process(latency_ms="20", tokens_per_second="100") as sandbox,
        fresh_schema() as schema,
        topology(tmp_path, sandbox, schema) as (env, replicas, balancer),
    ):
        lb = f"http://127.0.0.1:{balancer.port}"
        figures: dict[str, Any] = {}

        # -- limits across the replicas (all three serving, round robin) --
        rpm_key = admin(lb, env, rpm=15)
        rpm_client = openai.OpenAI(base_url=lb + "/v1", api_key=rpm_key["key"], max_retries=0)

        def limited(i: int) -> str:
            try:
                rpm_client.chat.completions.create(model=HAIKU, messages=USER, max_tokens=5)
                return "ok"
            except openai.RateLimitError:
                return "429"

        with concurrent.futures.ThreadPoolExecutor(9) as pool:
            outcomes = Counter(pool.map(limited, range(45)))
        assert outcomes == {"ok": 15, "429": 30}, outcomes
        figures["rpm 15, 45 sent"] = dict(outcomes)

        probe = admin(lb, env)
        probe_client = openai.OpenAI(base_url=lb + "/v1", api_key=probe["key"], max_retries=0)
        probe_client.chat.completions.create(model=HAIKU, messages=USER, max_tokens=10)
        one_cost = Decimal(next(r for r in ledger(schema) if r["key_id"] == probe["id"])["cost"])
        budget = one_cost * 20
        budget_key = admin(lb, env, budget_usd=str(budget))
        budget_client = openai.OpenAI(base_url=lb + "/v1", api_key=budget_key["key"], max_retries=0)

        def spend(i: int) -> str:
            try:
                budget_client.chat.completions.create(model=HAIKU, messages=USER, max_tokens=10)
                return "ok"
            except openai.RateLimitError as e:
                assert e.code == "insufficient_quota"
                return "quota"

        with concurrent.futures.ThreadPoolExecutor(9) as pool:
            spent_outcomes = Counter(pool.map(spend, range(40)))
        rows = [r for r in ledger(schema) if r["key_id"] == budget_key["id"]]
        spent = sum((Decimal(r["cost"]) for r in rows), Decimal(0))
        assert len(rows) == spent_outcomes["ok"] > 0 and spent_outcomes["quota"] > 0
        assert spent <= budget
        figures["budget 20x one request, 40 sent"] = {**spent_outcomes, "spent/budget": f"{spent}/{budget}"}

        # -- mixed load through the balancer; SIGKILL gw1, then SIGTERM gw2 --
        key = admin(lb, env)
        client = openai.OpenAI(base_url=lb + "/v1", api_key=key["key"], max_retries=0, timeout=20)
        calls: list[Call] = []
        lock = threading.Lock()
        stop = threading.Event()
        t0 = time.monotonic()

        def worker(w: int) -> None:
            n = 0
            while not stop.is_set():
                call = Call(f"t-{w}-{n}", stream=(n + w) % 2 == 0, started=time.monotonic())
                n += 1
                one_call(client, call)
                with lock:
                    calls.append(call)

        gw1, gw2, _ = replicas
        watcher_done = threading.Event()

        def watch() -> None:
            while not watcher_done.is_set():
                for name, state in _safe_states(balancer).items():
                    if state.startswith("DOWN") and name not in balancer.down_at:
                        balancer.down_at[name] = time.monotonic()
                if gw2.exited_at is None and gw2.proc.poll() is not None:
                    gw2.exited_at = time.monotonic()
                time.sleep(0.02)

        threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(WORKERS)]
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for t in threads:
            t.start()
        time.sleep(KILL_AT)
        gw1.proc.kill()
        killed_at = time.monotonic()
        time.sleep(TERM_AT - KILL_AT)
        gw2.proc.send_signal(signal.SIGTERM)
        termed_at = time.monotonic()
        time.sleep(LOAD_SECONDS - TERM_AT)
        stop.set()
        for t in threads:
            t.join(30)
        assert gw2.proc.wait(15) == 0  # drained and exited cleanly
        time.sleep(0.2)
        watcher_done.set()
        watcher.join(5)
        # HAProxy writes a request's log line when it ends: wait (bounded) for the lines of the calls that
        # completed, instead of a fixed pause that a busy machine can outrun
        deadline = time.monotonic() + 10
        served = balancer.served()
        while time.monotonic() < deadline and any(c.ok and c.test_id not in served for c in calls):
            time.sleep(0.1)
            served = balancer.served()
        # HAProxy's clock is the wall clock; the test's marks are monotonic: map them
        offset = time.time() - time.monotonic()
        kill_wall = killed_at + offset
        failed = [c for c in calls if not c.ok]
        unlogged = [c for c in calls if c.test_id not in served]
        # a call HAProxy has no line for can only be one it lost with the killed replica's connection
        assert all(not c.ok and c.started <= killed_at + 0.05 and c.ended >= killed_at for c in unlogged), unlogged
        for c in failed:
            if c in unlogged:
                continue
            server, accepted, ended, _ = served[c.test_id]
            assert server == "gw1" and accepted <= kill_wall + 0.05 and ended >= kill_wall - 0.05, (
                c,
                served[c.test_id],
            )

        # the SIGTERMed replica: out of rotation before it exited, nothing sent to it after, all it had finished
        assert gw2.exited_at is not None and "gw2" in balancer.down_at
        assert termed_at <= balancer.down_at["gw2"] < gw2.exited_at
        down_wall = balancer.down_at["gw2"] + offset
        on_gw2 = [c for c in calls if c.test_id in served and served[c.test_id][0] == "gw2"]
        assert on_gw2 and all(c.ok for c in on_gw2)
        assert not [c for c in on_gw2 if served[c.test_id][1] > down_wall + 0.05]

        # every completed response has exactly one ledger row
        completed = {c.request_id for c in calls if c.ok}
        rows = [r for r in ledger(schema) if r["key_id"] == key["id"]]
        per_id = Counter(r["request_id"] for r in rows)
        assert None not in completed and all(per_id[rid] == 1 for rid in completed)
        extra = [rid for rid in per_id if rid not in completed]
        failed_ids = {c.request_id for c in failed}
        assert all(rid in failed_ids or rid not in {c.request_id for c in calls} for rid in extra)

        figures.update(
            {
                "load seconds": LOAD_SECONDS,
                "sent": len(calls),
                "streams": sum(c.stream for c in calls),
                "succeeded": sum(c.ok for c in calls),
                "failed": len(failed),
                "failed why": dict(
                    Counter(
                        f"{c.error} ({'stream' if c.stream else 'json'}, in flight on gw1 at SIGKILL)" for c in failed
                    )
                ),
                "served by": dict(Counter(served[c.test_id][0] if c.test_id in served else "?" for c in calls)),
                "failed calls with no balancer log line": len(unlogged),
                "ledger rows": len(rows),
                "completed responses": len(completed),
                "ledger rows of failed calls (committed before the kill)": len(extra),
                "gw2 out of rotation after SIGTERM (s)": round(balancer.down_at["gw2"] - termed_at, 3),
                "gw2 exited after SIGTERM (s)": round(gw2.exited_at - termed_at, 3),
                "gw1 out of rotation after SIGKILL (s)": round(
                    balancer.down_at.get("gw1", float("nan")) - killed_at, 3
                ),
                "load started to SIGKILL (s)": round(killed_at - t0, 3),
            }
        )
        print("\nthree-replica topology:")
        for name, value in figures.items():
            print(f"  {name}: {value}")
        assert len(calls) > 50 and sum(c.ok for c in calls) > 0.9 * len(calls)


@pytest.fixture(autouse=True)
def _haproxy_installed() -> None:
    import os
    import shutil

    if shutil.which("haproxy") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("haproxy is not installed (.ci/run installs it)")
        pytest.skip("haproxy is not installed")
