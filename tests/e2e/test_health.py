"""``/healthz`` and ``/readyz`` of a real gateway: readiness follows PostgreSQL, the schema revision and Redis (servers
of the test's own, stopped and started again), and turns 503 on SIGTERM while the gateway keeps serving for
the shutdown delay."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import openai
import pytest

from opentoken.stores.sql.migrate import HEAD_REVISION
from support.private_services import private_postgres, private_redis
from support.reliability import USER, sdk
from support.servers import Gateway, gateway_env, gateway_process, run_cli, sandbox_process


def set_revision(url: str, revision: str) -> None:
    async def update() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("UPDATE opentoken_schema_version SET version_num = $1", revision)
        finally:
            await conn.close()

    asyncio.run(update())


def readyz(gw: Gateway) -> tuple[int, dict[str, Any]]:
    r = httpx.get(gw.url + "/readyz", timeout=10)
    return r.status_code, r.json()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("the condition did not hold in time")


def is_ready(gw: Gateway, **checks: str) -> Callable[[], bool]:
    def check() -> bool:
        status, body = readyz(gw)
        return status == 200 and body["status"] == "ready" and all(body["checks"][k] == v for k, v in checks.items())

    return check


@pytest.mark.timeout(240)
def test_readyz_follows_postgres_migrations_and_redis(sandbox_url: str, tmp_path: Path) -> None:
    with private_postgres() as pg, private_redis() as redis:
        env = gateway_env(
            tmp_path,
            sandbox_url,
            OPENTOKEN_DATABASE_URL=pg.url,
            OPENTOKEN_REDIS_URL=redis.url,
            OPENTOKEN_READINESS_TIMEOUT_SECONDS="1",
        )
        run_cli("migrate", env=env)
        with gateway_process(env) as gw:
            status, body = readyz(gw)
            assert status == 200 and body == {
                "status": "ready",
                "checks": {"database": "ok", "migrations": "ok", "redis": "ok"},
            }

            redis.stop()
            status, body = readyz(gw)
            assert status == 503 and body["status"] == "not_ready"
            assert body["checks"]["redis"].startswith("unreachable") and body["checks"]["database"] == "ok"
            assert httpx.get(gw.url + "/healthz").status_code == 200  # alive all the same
            redis.start()
            eventually(is_ready(gw, redis="ok"))

            pg.stop()
            status, body = readyz(gw)
            assert status == 503 and body["checks"]["database"].startswith("unreachable")
            assert body["checks"]["redis"] == "ok"
            assert httpx.get(gw.url + "/healthz").status_code == 200
            pg.start()
            eventually(is_ready(gw, database="ok", migrations="ok"))

            set_revision(pg.url, "0000")
            status, body = readyz(gw)
            assert status == 503 and body["checks"]["migrations"].startswith("schema at revision 0000")
            assert body["checks"]["database"] == "ok"
            set_revision(pg.url, HEAD_REVISION)
            eventually(is_ready(gw, migrations="ok"))


class Story(threading.Thread):
    """A stream that takes about ``tokens / 10`` seconds on the paced sandbox."""

    def __init__(self, gw: Gateway, tokens: int) -> None:
        super().__init__(daemon=True)
        self.gw, self.tokens = gw, tokens
        self.started = threading.Event()
        self.finish: str | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            chunks = sdk(self.gw).chat.completions.create(
                model="anthropic/claude-sonnet-4-5", messages=USER, stream=True, max_tokens=self.tokens
            )
            for chunk in chunks:
                self.started.set()
                for choice in chunk.choices:
                    self.finish = choice.finish_reason or self.finish
        except openai.APIError as e:
            self.error = e
        finally:
            self.started.set()


def test_readyz_turns_503_on_sigterm_while_the_gateway_keeps_serving(tmp_path: Path) -> None:
    with sandbox_process(tokens_per_second="10") as paced:
        env = gateway_env(tmp_path, paced, OPENTOKEN_SHUTDOWN_DELAY_SECONDS="1.5", OPENTOKEN_DRAIN_SECONDS="10")
        with gateway_process(env) as gw:
            assert readyz(gw)[0] == 200
            story = Story(gw, tokens=25)  # about 2.5 s: still streaming when the delay ends
            story.start()
            assert story.started.wait(10)
            gw.proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            eventually(lambda: readyz(gw)[0] == 503, timeout=1.0)
            _, body = readyz(gw)
            assert body["status"] == "not_ready" and body["checks"]["shutdown"] == "draining"
            assert body["checks"]["database"] == "ok"
            assert httpx.get(gw.url + "/healthz").status_code == 200
            # still serving during the delay: a load balancer that has not noticed yet loses nothing
            fast = sdk(gw, timeout=5).chat.completions.create(
                model="google/gemini-3-flash", messages=USER, max_tokens=3
            )
            assert fast.choices[0].finish_reason == "length"
            assert time.monotonic() - sent < 1.5
            eventually(lambda: _refused(gw), timeout=3.0)  # then the listener closes
            story.join(10)
            assert gw.proc.wait(10) == 0
    assert story.error is None and story.finish == "length"  # the stream in flight was drained


def _refused(gw: Gateway) -> bool:
    try:
        httpx.get(gw.url + "/healthz", timeout=0.5)
    except httpx.TransportError:
        return True
    return False
