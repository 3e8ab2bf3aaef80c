"""How the gateway's cost grows: with the prompt size, the number of keys in the store and the ledger size.

Each step compares the gateway's latency at a fixed rate with the same requests sent straight to the sandbox
(overhead = gateway - direct, at p50 and p99), and measures the gateway's CPU time per request at saturation.
"""

from __future__ import annotations

import asyncio

from bench import loadgen, measure
from bench.config import direct_target, openai_target, prompt
from bench.measure import Result
from bench.phases import Context, fresh_key
from bench.procs import running
from bench.seed import count, seed_keys, seed_ledger, seeded_secret
from bench.servers import start_gateway, start_passthrough


def _overhead(gateway: Result, direct: Result) -> Result:
    out: Result = {}
    for p in ("p50_ms", "p99_ms"):
        if gateway.get(p) is not None and direct.get(p) is not None:
            out[p.replace("_ms", "_overhead_ms")] = round(gateway[p] - direct[p], 3)
    return out


def prompt_sizes(ctx: Context) -> list[Result]:
    cfg = ctx.cfg
    key = fresh_key(ctx, "prompt")
    rows = []
    gw_ctx = start_gateway("gateway-prompt", ctx.server_core, ctx.log_dir, ctx.db("prompt"), ctx.upstream.url, key)
    with (
        running([gw_ctx]) as (gw,),
        running([start_passthrough("passthrough-prompt", ctx.server_core, ctx.log_dir, ctx.upstream.url)]) as (pt,),
    ):
        for size in cfg.prompt_sizes:
            text = prompt(size)
            direct = measure.fixed_rate(direct_target(ctx.upstream.url, text), cfg.prompt_rate, cfg.seconds)
            passthrough = measure.fixed_rate(
                openai_target("passthrough", pt.url, None, text), cfg.prompt_rate, cfg.seconds
            )
            gateway = measure.fixed_rate(openai_target("gateway", gw.url, key, text), cfg.prompt_rate, cfg.seconds)
            rows.append(
                {
                    "bytes": len(openai_target("x", "", None, text).body),
                    "direct": direct,
                    "passthrough": passthrough,
                    "gateway": gateway,
                    "passthrough_overhead": _overhead(passthrough, direct),
                    "gateway_overhead": _overhead(gateway, direct),
                }
            )
            measure.settle()
    return rows


def _step(ctx: Context, name: str, key: str, direct: Result, cold_keys: int = 0) -> Result:
    cfg = ctx.cfg
    with running([start_gateway(name, ctx.server_core, ctx.log_dir, ctx.db("scale"), ctx.upstream.url, key)]) as (gw,):
        target = openai_target("gateway", gw.url, key)
        hot = measure.fixed_rate(target, cfg.scale_rate, cfg.seconds, server=gw)
        out: Result = {"hot_key": hot, "hot_key_overhead": _overhead(hot, direct)}
        if cold_keys:
            secrets = [seeded_secret(i) for i in range(cold_keys)]
            auths = [f"Bearer {s}" for s in secrets]
            cold = asyncio.run(
                loadgen.fixed_rate(target, rate=cfg.scale_rate, seconds=cfg.seconds, authorizations=auths)
            )
            out["cold_keys"] = {"distinct": cold_keys, **measure.latency_summary(cold)}
            out["cold_keys_overhead"] = _overhead(out["cold_keys"], direct)
        out["saturation"] = measure.saturation(gw, target, cfg, ctx.wrk, stream=False)
        out["memory"] = measure.memory(gw)
    return out


def keys(ctx: Context) -> list[Result]:
    cfg = ctx.cfg
    db = ctx.db("scale")
    key = fresh_key(ctx, "scale")
    direct = measure.fixed_rate(direct_target(ctx.upstream.url), cfg.scale_rate, cfg.seconds)
    rows = []
    for n in cfg.key_counts:
        seconds = seed_keys(db, max(0, n - 1))  # the benchmark's own key is one of the n
        step = _step(ctx, f"gateway-keys-{n}", key, direct, cold_keys=min(n - 1, 1000))
        rows.append({"keys": count(db, "api_keys"), "seed_seconds": round(seconds, 1), "direct": direct, **step})
    return rows


def ledger(ctx: Context) -> list[Result]:
    cfg = ctx.cfg
    db = ctx.db("scale")
    key = fresh_key(ctx, "scale")
    direct = measure.fixed_rate(direct_target(ctx.upstream.url), cfg.scale_rate, cfg.seconds)
    rows = []
    for n in cfg.ledger_counts:
        seconds = seed_ledger(db, n)
        rows_before = count(db, "usage_ledger")
        step = _step(ctx, f"gateway-ledger-{n}", key, direct)
        rows.append({"ledger_rows": rows_before, "seed_seconds": round(seconds, 1), "direct": direct, **step})
    return rows
