"""The circuit breaker across gateway processes: two gateways share deployment cooldowns through Redis.

Both serve ``anthropic/claude-opus-4-1`` from a refused deployment of weight 9 and a live one of weight 1.
Requests through the first gateway trip the breaker on the dead deployment after three failures; the second
gateway, which never saw a failure itself, skips it from its first request on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from support.redis_fixtures import require_redis
from support.reliability import USER, Ledger, Sandbox, complete, sdk
from support.servers import Gateway, free_port, gateway_env, gateway_process, sandbox_process

MODEL = "anthropic/claude-opus-4-1"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Gateway, Gateway]]:
    redis_url = require_redis()
    run = uuid.uuid4().hex[:8]
    dead, live = f"dead-{run}", f"live-{run}"  # names key the shared state: fresh ones per run
    with sandbox_process() as url:
        deployments = [
            {"name": dead, "provider": "anthropic", "base_url": f"http://127.0.0.1:{free_port()}", "weight": 9},
            {"name": live, "provider": "anthropic", "base_url": url, "weight": 1},
        ]
        common = {
            "OPENTOKEN_REDIS_URL": redis_url,
            "OPENTOKEN_DEPLOYMENTS": json.dumps([{**d, "models": [MODEL]} for d in deployments]),
            "OPENTOKEN_COOLDOWN_FAILURES": "3",
            "OPENTOKEN_COOLDOWN_SECONDS": "60",
        }
        dirs: list[Path] = [tmp_path_factory.mktemp("gw-a"), tmp_path_factory.mktemp("gw-b")]
        with (
            gateway_process(gateway_env(dirs[0], url, **common)) as a,
            gateway_process(gateway_env(dirs[1], url, **common)) as b,
        ):
            yield Sandbox(url), a, b
        client = Redis.from_url(redis_url)
        try:
            for key in client.scan_iter(match=f"opentoken:deployment:*-{run}:*"):
                client.delete(key)
        finally:
            client.close()


def test_cooldown_is_shared_between_gateways(pair: tuple[Sandbox, Gateway, Gateway]) -> None:
    sandbox, a, b = pair
    sandbox.reset()
    book_a, book_b = Ledger(a), Ledger(b)
    book_a.mark()
    book_b.mark()
    ids = [complete(sdk(a), model=MODEL, messages=USER)[0] for _ in range(12)]
    rows = {r["request_id"]: r for r in book_a.new(12)}
    attempts = [rows[rid]["attempts"] for rid in ids]
    assert sum(attempts) - len(ids) == 3, attempts  # exactly the three failures that tripped the breaker
    assert attempts[-6:] == [1] * 6 and all(rows[rid]["status"] == 200 for rid in ids)
    ids_b = [complete(sdk(b), model=MODEL, messages=USER)[0] for _ in range(8)]
    rows_b = {r["request_id"]: r for r in book_b.new(8)}
    assert [rows_b[rid]["attempts"] for rid in ids_b] == [1] * 8  # b never tries the dead deployment
    assert len(sandbox.requests()) == 20
