"""One measurement at a time: saturation (with the server's CPU time per request), fixed-rate latency,
paced streams. Each returns a plain dict that goes into the results JSON as it is."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import loadgen
from bench.config import Config
from bench.loadgen import Latencies, Target
from bench.procs import Server

Result = dict[str, Any]


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def saturation(server: Server, target: Target, cfg: Config, wrk: str | None, *, stream: bool) -> Result:
    """Requests (or streams) per second at saturation and the server's CPU microseconds per request."""
    warm = min(2.0, cfg.seconds / 2)
    _saturate(target, cfg, wrk, stream=stream, seconds=warm)
    cpu0 = server.cpu()
    sat = _saturate(target, cfg, wrk, stream=stream, seconds=cfg.seconds)
    cpu = server.cpu() - cpu0
    return {
        "rps": round(sat.rps, 1),
        "requests": sat.requests,
        "errors": sat.errors,
        "cpu_us_per_request": round(cpu * 1e6 / sat.requests, 1) if sat.requests else None,
        "cpu_share": round(cpu / sat.seconds, 3) if sat.seconds else None,
        "p50_ms": _round(sat.p50_ms),
        "p99_ms": _round(sat.p99_ms),
        "tool": sat.tool,
    }


def _saturate(target: Target, cfg: Config, wrk: str | None, *, stream: bool, seconds: float) -> loadgen.Saturation:
    if wrk:
        return loadgen.run_wrk(wrk, target, stream=stream, connections=cfg.connections, seconds=seconds)
    return asyncio.run(loadgen.saturate(target, stream=stream, connections=cfg.connections, seconds=seconds))


def latency_summary(lat: Latencies) -> Result:
    return {
        "p50_ms": _round(lat.pct(50)),
        "p90_ms": _round(lat.pct(90)),
        "p99_ms": _round(lat.pct(99)),
        "ok": len(lat.samples),
        "errors": lat.errors,
        "achieved_rps": round(lat.achieved, 1),
    }


def fixed_rate(
    target: Target, rate: float, seconds: float, *, body: bytes | None = None, server: Server | None = None
) -> Result:
    """Latency at a fixed rate; with ``server``, also its CPU time per request at that rate (no batching
    effects of saturation: the cost one request pays when the gateway is not busy)."""
    cpu0 = server.cpu() if server else 0.0
    lat = asyncio.run(loadgen.fixed_rate(target, rate=rate, seconds=seconds, body=body))
    out: Result = {"rate": rate, **latency_summary(lat)}
    if server is not None and lat.sent:
        out["cpu_us_per_request"] = round((server.cpu() - cpu0) * 1e6 / (lat.sent + 1), 1)
    return out


def rates(target: Target, cfg: Config, capacity: float | None, server: Server | None = None) -> list[Result]:
    """Latency at each fixed rate the server can sustain (rates above 80 % of its saturation are skipped)."""
    out = []
    for rate in cfg.rates:
        if capacity is not None and rate > 0.8 * capacity:
            out.append({"rate": rate, "skipped": f"above 80% of saturation ({capacity:.0f}/s)"})
            continue
        out.append(fixed_rate(target, rate, cfg.seconds, server=server))
    return out


def paced(target: Target, cfg: Config) -> Result:
    times = asyncio.run(loadgen.paced_streams(target, concurrency=cfg.paced_concurrency, seconds=cfg.seconds))
    return {
        "concurrency": cfg.paced_concurrency,
        "streams_per_second": round(times.total.achieved, 1),
        "ttft": latency_summary(times.ttft),
        "total": latency_summary(times.total),
    }


def memory(server: Server) -> Result:
    rss, peak = server.memory()
    return {"rss_mb": round(rss, 1), "peak_mb": round(peak, 1)}


def settle(seconds: float = 0.5) -> None:
    """Let sockets in TIME_WAIT and background writes drain between measurements."""
    time.sleep(seconds)
