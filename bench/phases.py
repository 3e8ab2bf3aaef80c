"""The side-by-side comparison (direct, pass-through, gateway, LiteLLM) and the held slow streams."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bench import loadgen, measure
from bench.config import PACED_MAX_TOKENS, PACED_TOKENS_PER_SECOND, Config, direct_target, openai_target
from bench.loadgen import Target
from bench.measure import Result
from bench.procs import Server, raise_file_limit, running
from bench.servers import (
    create_key,
    gateway_env,
    start_gateway,
    start_litellm,
    start_passthrough,
    start_patched_gateway,
    start_sandbox,
)

PACED_MODEL = "paced/claude-sonnet-4-5"  # LiteLLM's name for the paced sandbox


@dataclass
class Context:
    cfg: Config
    log_dir: Path
    upstream: Server  # the zero-latency sandbox, on the load generator's core
    wrk: str | None
    litellm: Path | None
    notes: list[str]

    @property
    def load_core(self) -> int | None:
        return self.cfg.cores[0] if self.cfg.cores else None

    @property
    def server_core(self) -> int | None:
        return self.cfg.cores[1] if self.cfg.cores else None

    def db(self, name: str) -> Path:
        return self.cfg.work_dir / f"{name}.db"


def _workload(ctx: Context, server: Server, target: Target) -> Result:
    """Saturation (non-stream and stream) and fixed-rate latency against one running server."""
    out: Result = {"memory_idle": measure.memory(server)}
    out["saturation"] = measure.saturation(server, target, ctx.cfg, ctx.wrk, stream=False)
    measure.settle()
    out["rates"] = measure.rates(target, ctx.cfg, out["saturation"]["rps"], server)
    measure.settle()
    out["stream_saturation"] = measure.saturation(server, target, ctx.cfg, ctx.wrk, stream=True)
    out["memory_loaded"] = measure.memory(server)
    return out


def fresh_key(ctx: Context, db_name: str) -> str:
    """A new gateway database ``db_name`` holding one benchmark key (with limits); returns its secret."""
    db = ctx.db(db_name)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return create_key(gateway_env(db, ctx.upstream.url))


def compare(ctx: Context) -> Result:
    """Every workload against every server, one server on the measured core at a time."""
    cfg, core = ctx.cfg, ctx.server_core
    results: Result = {}
    paced_sb = start_sandbox("sandbox-paced", ctx.load_core, ctx.log_dir, tokens_per_second=PACED_TOKENS_PER_SECOND)
    with running([paced_sb]):
        results["direct"] = _workload(ctx, ctx.upstream, direct_target(ctx.upstream.url))
        results["direct"]["paced"] = measure.paced(direct_target(paced_sb.url, max_tokens=PACED_MAX_TOKENS), cfg)

        with running([start_passthrough("passthrough", core, ctx.log_dir, ctx.upstream.url)]) as (pt,):
            results["passthrough"] = _workload(ctx, pt, openai_target("passthrough", pt.url, None))
        with running([start_passthrough("passthrough-paced", core, ctx.log_dir, paced_sb.url)]) as (pt,):
            target = openai_target("passthrough", pt.url, None, max_tokens=PACED_MAX_TOKENS)
            results["passthrough"]["paced"] = measure.paced(target, cfg)
        # the same floor over the prototype HTTP/1.1 client (bench/proposals/h1client.py) instead of aiohttp
        with running([start_passthrough("passthrough-h1", core, ctx.log_dir, ctx.upstream.url, "h1")]) as (pt,):
            results["passthrough-h1"] = _workload(ctx, pt, openai_target("passthrough-h1", pt.url, None))

        key = fresh_key(ctx, "compare")
        with running([start_gateway("gateway", core, ctx.log_dir, ctx.db("compare"), ctx.upstream.url, key)]) as (gw,):
            results["gateway"] = _workload(ctx, gw, openai_target("gateway", gw.url, key))
        with running([start_gateway("gateway-paced", core, ctx.log_dir, ctx.db("compare"), paced_sb.url, key)]) as (
            gw,
        ):
            target = openai_target("gateway", gw.url, key, max_tokens=PACED_MAX_TOKENS)
            results["gateway"]["paced"] = measure.paced(target, cfg)

        if cfg.proposals:
            _proposals(ctx, results, key)
        if ctx.litellm is not None:
            upstreams = {"anthropic/claude-sonnet-4-5": ctx.upstream.url, PACED_MODEL: paced_sb.url}
            with running([start_litellm("litellm", core, ctx.log_dir, ctx.litellm, upstreams)]) as (ll,):
                key = ll.meta["key"]
                results["litellm"] = _workload(ctx, ll, openai_target("litellm", ll.url, key))
                target = openai_target("litellm", ll.url, key, max_tokens=PACED_MAX_TOKENS, model=PACED_MODEL)
                results["litellm"]["paced"] = measure.paced(target, cfg)
    return results


def _proposals(ctx: Context, results: Result, key: str) -> None:
    """The gateway with the proposed changes patched in; a failure to start is noted, not fatal."""
    try:
        server = start_patched_gateway(
            "gateway-proposals", ctx.server_core, ctx.log_dir, ctx.db("compare"), ctx.upstream.url, key
        )
    except RuntimeError as e:
        ctx.notes.append(f"gateway-proposals did not start: {str(e)[:300]}")
        return
    with running([server]) as (gw,):
        results["gateway-proposals"] = _workload(ctx, gw, openai_target("gateway-proposals", gw.url, key))


def stream_capacity(file_limit: int) -> int:
    """Streams one gateway process can hold: each needs two sockets (client and upstream)."""
    return max(0, (file_limit - 200) // 2)


def slow_streams(ctx: Context) -> Result:
    """``slow_streams`` concurrent streams that each last ``slow_seconds``, held by one gateway process."""
    cfg = ctx.cfg
    capacity = stream_capacity(raise_file_limit())
    if cfg.slow_streams > capacity:
        ctx.notes.append(
            f"slow streams capped at {capacity:,} (asked {cfg.slow_streams:,}): the open-file limit here is "
            f"{raise_file_limit():,} and cannot be raised (no CAP_SYS_RESOURCE); each stream holds two sockets "
            "in the gateway"
        )
        cfg.slow_streams = capacity
    tokens = 30
    slow_sb = start_sandbox("sandbox-slow", ctx.load_core, ctx.log_dir, tokens_per_second=tokens / cfg.slow_seconds)
    key = fresh_key(ctx, "slow")
    with running([slow_sb]):
        gateway = start_gateway("gateway-slow", ctx.server_core, ctx.log_dir, ctx.db("slow"), slow_sb.url, key)
        return _hold(ctx, gateway, key, tokens)


def _hold(ctx: Context, gateway: Server, key: str, tokens: int) -> Result:
    cfg = ctx.cfg
    with running([gateway]) as (gw,):
        target = openai_target("gateway", gw.url, key, max_tokens=tokens)
        asyncio.run(loadgen.fixed_rate(target, rate=1, seconds=1))  # warm (starts every lazy part once)
        idle = measure.memory(gw)
        samples: list[float] = []

        def sample() -> None:
            samples.append(gw.memory()[0])

        times = asyncio.run(
            loadgen.hold_streams(target, count=cfg.slow_streams, ramp_per_second=cfg.slow_ramp, sample=sample)
        )
        return {
            "streams": cfg.slow_streams,
            "seconds_each": cfg.slow_seconds,
            "ramp_per_second": cfg.slow_ramp,
            "ok": len(times.total.samples),
            "errors": times.total.errors,
            "memory_idle": idle,
            "rss_max_mb": round(max(samples, default=0.0), 1),
            "peak_mb": measure.memory(gw)["peak_mb"],
            "ttft": measure.latency_summary(times.ttft),
            "total": measure.latency_summary(times.total),
            "wall_seconds": round(times.total.seconds, 1),
        }
