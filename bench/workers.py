"""``python -m bench --only workers``: one gateway process against ``serve --workers 2`` on this machine, and
what one admission costs on the candidates for counters shared by the workers (``bench/admission.py``).

Two core layouts, each with one worker and with two:
- ``pinned``: the upstream (zero-latency sandbox) and the load generator (wrk) on core 0, as in every other
  section; one worker on core 1; two workers on cores 0-1 (so the second worker shares core 0 with them);
- ``shared``: nothing pinned: the upstream, wrk, the supervisor and the workers on both cores.
The server's CPU time is that of the whole ``serve`` process tree (supervisor and workers), per request.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import admission, measure
from bench.config import openai_target
from bench.loadgen import Target
from bench.phases import Context, fresh_key
from bench.procs import CLK_TCK, Server, pin, process_tree, running
from bench.servers import start_gateway, start_sandbox

Result = dict[str, Any]
LAYOUTS = ("pinned", "shared")


def _own_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _cpu_by_process(server: Server) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in process_tree(server.pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            out[pid] = _own_cpu(pid)
    return out


def _wait_for_workers(url: str, workers: int, timeout: float = 90.0) -> None:
    """Until every worker has answered /readyz (each takes connections once it has started)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout

    def ready(_: int) -> str:
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/readyz", timeout=2) as r:
            return str(r.headers.get("x-opentoken-worker") or "1")
        return ""

    while len(seen - {""}) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {seen} answered in {timeout} s")
        with ThreadPoolExecutor(8) as pool:
            seen.update(pool.map(ready, range(16)))
        time.sleep(0.05)


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process, every core) since boot."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK  # all but idle and iowait


def _wait_for_quiet(most: float = 0.15, timeout: float = 180.0) -> float:
    """Wait until the machine is idle (under ``most`` cores busy over a second): other work on the machine
    (another benchmark, a profiler) would take the cores measured here. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = _machine_busy()
        time.sleep(1.0)
        if _machine_busy() - busy < most:
            break
    return round(time.monotonic() - started, 1)


def _saturate(ctx: Context, server: Server, upstream: Server, target: Target, stream: bool) -> Result:
    """measure.saturation, with the CPU time of each process of the tree (supervisor, workers) apart, and
    the CPU time of everything else on the machine (wrk and any other work) during the measurement."""
    cfg = ctx.cfg
    waited = _wait_for_quiet()
    measure._saturate(target, cfg, ctx.wrk, stream=stream, seconds=min(2.0, cfg.seconds / 2))  # warm
    before = _cpu_by_process(server)
    busy0, upstream0 = _machine_busy(), upstream.cpu()
    sat = measure._saturate(target, cfg, ctx.wrk, stream=stream, seconds=cfg.seconds)
    busy, upstream_cpu = _machine_busy() - busy0, upstream.cpu() - upstream0
    after = _cpu_by_process(server)
    per_process = sorted(round(after[p] - before.get(p, 0.0), 2) for p in after if p != server.pid)
    cpu = sum(after.values()) - sum(before.get(p, 0.0) for p in after)
    return {
        "rps": round(sat.rps, 1),
        "requests": sat.requests,
        "errors": sat.errors,
        "cpu_us_per_request": round(cpu * 1e6 / sat.requests, 1) if sat.requests else None,
        "cpu_share": round(cpu / sat.seconds, 3) if sat.seconds else None,
        "supervisor_cpu_s": round(after.get(server.pid, 0.0) - before.get(server.pid, 0.0), 2),
        "worker_cpu_s": per_process,
        "upstream_cpu_s": round(upstream_cpu, 2),
        "other_cpu_s": round(busy - cpu - upstream_cpu, 2),  # wrk, and anything else running
        "waited_for_quiet_s": waited,
        "p50_ms": sat.p50_ms,
        "p99_ms": sat.p99_ms,
        "tool": sat.tool,
    }


@contextlib.contextmanager
def _layout(ctx: Context, name: str) -> Iterator[tuple[Server, int | None]]:
    """The upstream and the core of a one-worker gateway for ``name``; the load generator pinned to match."""
    if name == "pinned":
        yield ctx.upstream, ctx.server_core
        return
    everything = sorted(os.sched_getaffinity(0) | set(ctx.cfg.cores or ()))
    pin(list(range(os.cpu_count() or 1)))
    try:
        with running([start_sandbox("sandbox-shared", None, ctx.log_dir)]) as (upstream,):
            yield upstream, None
    finally:
        pin([ctx.load_core] if ctx.load_core is not None else everything)


_SPIN = "import time; t = time.process_time(); sum(i * i for i in range(6_000_000)); print(time.process_time() - t)"


def parallelism() -> Result:
    """CPU seconds of one fixed piece of Python work run alone, and in two processes at once (one per core):
    how much a second busy core slows the first on this machine (shared caches, memory bandwidth, or two
    virtual CPUs on one physical core), whatever the gateway does."""

    def run(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True) for _ in range(n)]
        return [float(p.communicate()[0]) for p in procs]

    alone = min(run(1)[0] for _ in range(2))
    together = min(max(run(2)) for _ in range(2))
    return {"alone_s": round(alone, 3), "two_at_once_s": round(together, 3), "slowdown": round(together / alone, 3)}


def workers(ctx: Context) -> Result:
    _wait_for_quiet()
    results: Result = {"cores": os.cpu_count(), "parallelism": parallelism(), "admission": admission.measure()}
    for layout in LAYOUTS:
        with _layout(ctx, layout) as (upstream, one_core):
            key = fresh_key(ctx, f"workers-{layout}")
            for count in (1, 2):
                core = one_core if count == 1 else None
                env = {"OPENTOKEN_WORKERS": str(count)}
                name = f"gateway-{layout}-{count}w"
                db = ctx.db(f"workers-{layout}")
                with running([start_gateway(name, core, ctx.log_dir, db, upstream.url, key, extra_env=env)]) as (gw,):
                    _wait_for_workers(gw.url, count)
                    target = openai_target("gateway", gw.url, key)
                    row: Result = {"saturation": _saturate(ctx, gw, upstream, target, stream=False)}
                    measure.settle()
                    row["stream_saturation"] = _saturate(ctx, gw, upstream, target, stream=True)
                    row["memory_loaded"] = measure.memory(gw)
                    results.setdefault(layout, {})[str(count)] = row
                measure.settle()
    return results


def _ratio(a: Any, b: Any) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def _change(a: Any, b: Any) -> str:
    return f"{(a - b) / b * 100:+.1f}%" if a and b else "n/a"


def report(r: dict[str, Any]) -> str:
    """The workers section of docs/benchmarks.md (``bench/report.py``)."""
    w = r.get("workers")
    if not w:
        return ""
    rows = [
        "| layout | workload | 1 worker req/s | 2 workers req/s | ratio (target >= 1.6x) | CPU µs/req 1 -> 2 "
        "| change (target <= +10%) | CPU s by worker (2 workers) | upstream / wrk + rest CPU s (1 -> 2) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for layout in LAYOUTS:
        for workload in ("saturation", "stream_saturation"):
            one = (w.get(layout) or {}).get("1", {}).get(workload) or {}
            two = (w.get(layout) or {}).get("2", {}).get(workload) or {}
            rows.append(
                f"| {layout} | {'streams' if workload.startswith('stream') else 'non-streaming'} "
                f"| {one.get('rps')} | {two.get('rps')} | {_ratio(two.get('rps'), one.get('rps'))} "
                f"| {one.get('cpu_us_per_request')} -> {two.get('cpu_us_per_request')} "
                f"| {_change(two.get('cpu_us_per_request'), one.get('cpu_us_per_request'))} "
                f"| {two.get('worker_cpu_s')} (supervisor {two.get('supervisor_cpu_s')}) "
                f"| {one.get('upstream_cpu_s')} / {one.get('other_cpu_s')} -> "
                f"{two.get('upstream_cpu_s')} / {two.get('other_cpu_s')} |"
            )
    par = w.get("parallelism") or {}
    a = w.get("admission") or {}
    sup = a.get("supervisor") or {}
    lines = [
        "Layouts: `pinned`: upstream and wrk on core 0, one worker on core 1, two workers on cores 0-1; "
        f"`shared`: nothing pinned ({w.get('cores')} cores). CPU: the whole `serve` process tree per request.",
        "",
        *rows,
        "",
        f"The same Python work costs {par.get('alone_s')} s of CPU alone and {par.get('two_at_once_s')} s in each "
        f"of two processes at once ({_change(par.get('two_at_once_s'), par.get('alone_s'))}): the floor of the "
        "CPU-per-request growth on this machine.",
        "",
        f"Admission cost (acquire + settle, rpm + tpm + budget; {a.get('admissions')} admissions; "
        "`python -m bench.admission`):",
        "",
        "| counters | µs per admission | worker CPU µs | supervisor CPU µs |",
        "|---|---|---|---|",
        f"| in the process (`MemoryCounters`, one worker only) | {(a.get('memory') or {}).get('us_per_admission')} "
        f"| {(a.get('memory') or {}).get('worker_cpu_us_per_admission')} | - |",
    ]
    for flight in ("in_flight_1", "in_flight_64"):
        s = sup.get(flight) or {}
        lines.append(
            f"| supervisor over a Unix socket, {flight.split('_')[-1]} in flight | {s.get('us_per_admission')} "
            f"| {s.get('worker_cpu_us_per_admission')} | {s.get('supervisor_cpu_us_per_admission')} |"
        )
    sq = a.get("sqlite") or {}
    lines.append(
        f"| SQLite table, two `BEGIN IMMEDIATE` transactions (lower bound) | {sq.get('us_per_admission')} "
        f"| {sq.get('cpu_us_per_admission')} | - |"
    )
    return "\n".join(lines)
