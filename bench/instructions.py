"""Instructions per request of a gateway checkout, counted by valgrind's callgrind: a CPU figure that depends
little on what else the machine is doing (the comparison of two commits in issue 11; use ``--concurrency 1``
for a count that repeats).

    uv run python -m bench.instructions /path/to/checkout [--requests 200]

The checkout needs its own ``.venv`` (``uv sync --frozen``). A sandbox and the gateway (SQLite, one key with
rpm, tpm and a budget, as in ``python -m bench``) are started from that checkout; the gateway runs under
callgrind. After a warm-up, the counters are zeroed, ``--requests`` non-streaming requests (then as many
streams) are sent by ``--concurrency`` clients at once (4 unless told), and the instructions the whole
process executed meanwhile (every thread: the ledger writer too) are divided by the count. Startup under
callgrind takes a few minutes.

``--tokens-per-second N`` paces the sandbox (N tokens a second, each in its own write, replies of
``PACED_MAX_TOKENS`` tokens as in the benchmark's paced streams): the stream figure then includes the cost of
each upstream read and client send, which an unpaced reply (a read or two) hardly has. Keep N low enough for
the gateway under callgrind (about 50x slower) to keep up: 100 is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.config import MAX_TOKENS, PACED_MAX_TOKENS, openai_target
from bench.loadgen import Target
from bench.procs import clean_env, free_port, spawn, wait_http
from bench.servers import KEY_LIMITS, gateway_env


async def _load(target: Target, count: int, stream: bool, concurrency: int = 4) -> None:
    left = [count]
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            while left[0] > 0:
                left[0] -= 1
                body = target.stream_body if stream else target.body
                async with http.post(target.url, data=body, headers=target.headers) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"status {r.status}")

        await asyncio.gather(*(client() for _ in range(concurrency)))


def _total(out_dir: Path) -> int:
    time.sleep(1)
    latest = max(out_dir.glob("cg.out.*"), key=os.path.getmtime)
    found = re.search(r"^(?:summary|totals):\s+(\d+)", latest.read_text(errors="replace"), re.M)
    if found is None:
        raise RuntimeError(f"no totals in {latest}")
    return int(found.group(1))


def count(
    checkout: Path, requests: int, work: Path, concurrency: int = 4, tokens_per_second: float = 0
) -> dict[str, float]:
    python = str(checkout / ".venv" / "bin" / "python")
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("cg.out*"):
        old.unlink()
    port = free_port()
    argv = [python, "-m", "opentoken", "sandbox", "--port", str(port), "--tokens-per-second", str(tokens_per_second)]
    sandbox, sandbox_log = spawn("cg-sandbox", argv, env=clean_env(), core=0, log_dir=work)
    upstream = f"http://127.0.0.1:{port}"
    wait_http(upstream + "/healthz", sandbox, sandbox_log)
    db = work / "gateway.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = gateway_env(db, upstream)
    created = subprocess.run(
        [python, "-m", "opentoken", "keys", "create", "--name", "bench", *KEY_LIMITS],
        env=env,
        capture_output=True,
        text=True,
        cwd=checkout,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.out", python, "-m", "opentoken"]
    gateway, gateway_log = spawn(
        "cg-gateway", [*argv, "serve", "--port", str(port)], env=env, core=1, log_dir=work, cwd=checkout
    )
    out: dict[str, float] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", gateway, gateway_log, timeout=1200)
        target = openai_target("gateway", url, key, max_tokens=PACED_MAX_TOKENS if tokens_per_second else MAX_TOKENS)
        for stream in (False, True):
            asyncio.run(_load(target, 30, stream))
            subprocess.run(["callgrind_control", "-z", str(gateway.pid)], capture_output=True, check=True)
            asyncio.run(_load(target, requests, stream, concurrency))
            subprocess.run(["callgrind_control", "-d", str(gateway.pid)], capture_output=True, check=True)
            out["stream" if stream else "non_stream"] = _total(work) / requests
    finally:
        for proc in (gateway, sandbox):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkout", type=Path)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="clients at once; with 1 the count repeats to within about 0.5 %% (with more, how requests overlap,"
        " and so how many share a ledger commit, depends on timing: 2-3 %% from run to run)",
    )
    p.add_argument("--tokens-per-second", type=float, default=0, help="pace the sandbox (0: unpaced)")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/opentoken-bench/instructions"))
    a = p.parse_args()
    os.sched_setaffinity(0, {0})
    for kind, per_request in count(
        a.checkout.resolve(), a.requests, a.work_dir, a.concurrency, a.tokens_per_second
    ).items():
        print(f"{kind}: {per_request:,.0f} instructions per request", file=sys.stdout)


if __name__ == "__main__":
    main()
