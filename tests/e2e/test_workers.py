"""``opentoken serve --workers 2`` on SQLite with the built-in sandbox: limits, budgets, the ledger and key
revocation hold across the worker processes; a killed worker is replaced; SIGTERM drains and exits 0.

One gateway for the module (starting workers costs seconds); the tests run in file order and the last one
stops it. Every response names the worker that answered (``x-opentoken-worker``), so each test can show
that both workers took part. Each test uses its own key; the ledger is checked per key at the end.
"""

from __future__ import annotations

import collections
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psutil
import pytest

from opentoken.core.money import COST_QUANTUM
from support.servers import base_env, free_port, opentoken, run_cli

WORKERS = 2
ADMIN = "admin-workers-test"
MODEL = "anthropic/claude-haiku-4-5"
SLOW = "[[fault:delay_ms=1500]] hello"  # the sandbox waits 1.5 s before answering (its control surface is on)


@dataclass
class Cluster:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    data_dir: Path
    served: collections.Counter[str] = field(default_factory=collections.Counter)  # key id -> 200s

    def new_key(self, **limits: Any) -> tuple[str, str]:
        r = httpx.post(
            self.url + "/admin/v1/keys", headers={"authorization": f"Bearer {ADMIN}"}, json={"name": "w", **limits}
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["id"]), str(r.json()["key"])

    def chat(self, key_id: str, secret: str, text: str = "hi", stream: bool = False) -> tuple[int, str]:
        """One completion on a new connection; returns (status, worker). 200s are tallied for the ledger check."""
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "max_tokens": 5, "stream": stream}
        headers = {"authorization": f"Bearer {secret}"}
        with (
            httpx.Client(timeout=30) as client,
            client.stream("POST", self.url + "/v1/chat/completions", json=body, headers=headers) as r,
        ):
            r.read()
            if r.status_code == 200:
                self.served[key_id] += 1
            return r.status_code, r.headers.get("x-opentoken-worker", "")

    def workers(self) -> list[psutil.Process]:
        return [
            p for p in psutil.Process(self.proc.pid).children() if "opentoken.serving.worker" in " ".join(p.cmdline())
        ]


def wait_for_workers(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until every worker has answered (each accepts from the shared socket once it has started)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < WORKERS:
        assert proc.poll() is None, f"the supervisor exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"only workers {seen} answered in {timeout} s"
        try:
            with ThreadPoolExecutor(8) as pool:
                for r in pool.map(lambda _: httpx.get(url + "/readyz", timeout=2), range(8)):
                    if r.status_code == 200:
                        seen.add(r.headers["x-opentoken-worker"])
        except httpx.HTTPError:
            time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("workers")
    env = base_env()
    del env["OPENTOKEN_WORKERS"]  # from the command line below
    env.update(
        OPENTOKEN_DATABASE_URL=f"sqlite:///{data_dir / 'gw.db'}",
        OPENTOKEN_ADMIN_KEY=ADMIN,
        OPENTOKEN_SANDBOX_CONTROL="true",  # no provider key: the supervisor's sandbox answers, faults on
        OPENTOKEN_SHUTDOWN_DELAY_SECONDS="1",
        OPENTOKEN_DRAIN_SECONDS="10",
    )
    port = free_port()
    log = open(data_dir / "gateway.log", "wb")  # noqa: SIM115 (closed below, after the process)
    proc = opentoken("serve", "--port", str(port), "--workers", str(WORKERS), env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_workers(url, proc)
        yield Cluster(url, env, proc, data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def hammer(cluster: Cluster, key_id: str, secret: str, n: int, text: str = "hi", stream: bool = False) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: cluster.chat(key_id, secret, text, stream), range(n)))


def test_one_sandbox_and_one_migration_for_all_workers(cluster: Cluster) -> None:
    assert len(cluster.workers()) == WORKERS
    log = (cluster.data_dir / "gateway.log").read_text()
    assert log.count("NO PROVIDER KEY") == 1  # one sandbox, in the supervisor, announced once
    assert "2 workers" in log


def test_rpm_is_exact_across_workers(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key(rpm=10)
    results = hammer(cluster, key_id, secret, 40)
    statuses = collections.Counter(status for status, _ in results)
    assert statuses == {200: 10, 429: 30}
    assert {worker for _, worker in results} == {"1", "2"}


def test_concurrency_limit_holds_across_workers(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key(max_concurrent=2)
    results = hammer(cluster, key_id, secret, 10, text=SLOW, stream=True)  # each holds its slot for 1.5 s
    statuses = collections.Counter(status for status, _ in results)
    assert statuses == {200: 2, 429: 8}
    assert {worker for _, worker in results} == {"1", "2"}
    assert collections.Counter(status for status, _ in hammer(cluster, key_id, secret, 2)) == {200: 2}  # freed


def test_budget_is_never_overspent_across_workers(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key(budget_usd="0.0005")  # a few requests' worst case; 40 at once ask more
    results = hammer(cluster, key_id, secret, 40)
    statuses = collections.Counter(status for status, _ in results)
    assert statuses[200] >= 1 and statuses[429] + statuses[402] >= 1, statuses
    assert {worker for _, worker in results} == {"1", "2"}
    with sqlite3.connect(cluster.data_dir / "gw.db") as db:  # each row is committed before its reply ends
        (nanos,) = db.execute("SELECT SUM(cost) FROM usage_ledger WHERE key_id = ?", (key_id,)).fetchone()
    assert Decimal(0) < Decimal(nanos) * COST_QUANTUM <= Decimal("0.0005")


def both_refuse(cluster: Cluster, key_id: str, secret: str, within: float) -> None:
    """Every request is refused (401) and both workers have refused one within ``within`` seconds."""
    refused_by: set[str] = set()
    deadline = time.monotonic() + within
    while refused_by != {"1", "2"}:
        assert time.monotonic() < deadline, f"only workers {refused_by} refused within {within} s"
        for status, worker in hammer(cluster, key_id, secret, 8):
            assert status == 401
            refused_by.add(worker)


def test_revocation_through_the_admin_api_reaches_every_worker_at_once(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key()
    used_by = {worker for status, worker in hammer(cluster, key_id, secret, 16) if status == 200}
    assert used_by == {"1", "2"}  # both workers hold the key in their caches now
    r = httpx.post(cluster.url + f"/admin/v1/keys/{key_id}/revoke", headers={"authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200
    both_refuse(cluster, key_id, secret, within=1.0)  # relayed by the supervisor: no request after it passes


def test_revocation_from_the_cli_reaches_every_worker_within_a_second(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key()
    assert {worker for status, worker in hammer(cluster, key_id, secret, 16) if status == 200} == {"1", "2"}
    run_cli("keys", "revoke", key_id, env=cluster.env)  # another process: no relay, the key caches expire
    time.sleep(1.0)
    both_refuse(cluster, key_id, secret, within=1.0)


def test_a_catalog_change_reaches_every_worker_within_a_second(cluster: Cluster) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    model = "anthropic/workers-e2e"
    body = {
        "id": model,
        "upstream_model": "claude-haiku-4-5",
        "context_window": 200000,
        "max_output_tokens": 8192,
        "prices": {"input": "1", "output": "5"},
    }
    assert httpx.post(cluster.url + "/admin/v1/models", headers=admin, json=body).status_code < 300
    key_id, secret = cluster.new_key()
    time.sleep(1.0)  # every worker has the new model by now (relay, or the 0.5 s reload at the latest)

    def statuses() -> list[tuple[int, str]]:
        request = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        with ThreadPoolExecutor(8) as pool:
            replies = pool.map(
                lambda _: httpx.post(
                    cluster.url + "/v1/chat/completions", json=request, headers={"authorization": f"Bearer {secret}"}
                ),
                range(16),
            )
            out = [(r.status_code, r.headers["x-opentoken-worker"]) for r in replies]
        cluster.served[key_id] += sum(status == 200 for status, _ in out)
        return out

    assert {worker for status, worker in statuses() if status == 200} == {"1", "2"}
    assert httpx.post(cluster.url + f"/admin/v1/models/{model}/disable", headers=admin).status_code < 300
    refused_by: set[str] = set()
    deadline = time.monotonic() + 1.0
    while refused_by != {"1", "2"}:
        assert time.monotonic() < deadline, f"only workers {refused_by} refused the disabled model within 1 s"
        for status, worker in statuses():  # relayed at once; each worker then reloads from the database
            if status != 200:
                assert status in (400, 404)
                refused_by.add(worker)


def test_a_killed_worker_is_replaced(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key()
    victim = cluster.workers()[0]
    victim.kill()
    victim.wait(10)
    assert all(status == 200 for status, _ in hammer(cluster, key_id, secret, 8))  # the other one serves
    deadline = time.monotonic() + 60
    while len(cluster.workers()) < WORKERS or victim.pid in [p.pid for p in cluster.workers()]:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.1)
    wait_for_workers(cluster.url, cluster.proc)  # the new one answers


def test_sigterm_drains_every_worker_and_exits_0_with_the_ledger_exact(cluster: Cluster) -> None:
    key_id, secret = cluster.new_key()
    with ThreadPoolExecutor(2) as pool:
        in_flight = [pool.submit(cluster.chat, key_id, secret, SLOW, True) for _ in range(2)]
        time.sleep(0.5)
        cluster.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # within the 1 s shutdown delay: still serving, but no longer ready
        ready = [httpx.get(cluster.url + "/readyz", timeout=5).status_code for _ in range(6)]
        assert set(ready) == {503}
        assert [f.result()[0] for f in in_flight] == [200, 200]  # requests in flight finish
    assert cluster.proc.wait(30) == 0
    with sqlite3.connect(cluster.data_dir / "gw.db") as db:
        rows = collections.Counter(k for (k,) in db.execute("SELECT key_id FROM usage_ledger"))
        ids = collections.Counter(r for (r,) in db.execute("SELECT request_id FROM usage_ledger"))
    assert rows == cluster.served  # one ledger row per request served, across both workers
    assert max(ids.values()) == 1


def test_a_port_in_use_stops_the_supervisor_before_any_worker_starts(tmp_path: Path) -> None:
    env = base_env()
    env.update(OPENTOKEN_DATABASE_URL=f"sqlite:///{tmp_path / 'gw.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "opentoken", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    assert "could not listen" in done.stderr and "worker 1 started" not in done.stderr
