"""What OpenTelemetry costs: the gateway with tracing off (no ``OTEL_*`` variable: no span is created), on
(every request traced: a server span, admission, attempt and ledger spans, exported over OTLP/HTTP to a sink
that drops them, plus the GenAI metrics) and on with 10 % of the traces sampled, measured alternately
``ROUNDS`` times on the same core so that drift on a shared machine hits every mode alike."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from bench import measure
from bench.config import openai_target
from bench.measure import Result
from bench.phases import Context, fresh_key
from bench.procs import Server, clean_env, free_port, running, spawn, wait_http
from bench.servers import start_gateway

ROUNDS = 2
RATE = 200


def start_sink(ctx: Context) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.otlp_sink", "--port", str(port)]
    proc, log = spawn(
        "otlp-sink", argv, env=clean_env(), core=ctx.load_core, log_dir=ctx.log_dir, cwd=Path(__file__).parent.parent
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log)
    return Server("otlp-sink", url, proc, log)


def _measure(ctx: Context, gw: Server, key: str) -> Result:
    target = openai_target("gateway", gw.url, key)
    out: Result = {"saturation": measure.saturation(gw, target, ctx.cfg, ctx.wrk, stream=False)}
    measure.settle()
    out["stream_saturation"] = measure.saturation(gw, target, ctx.cfg, ctx.wrk, stream=True)
    measure.settle()
    out["rate"] = measure.fixed_rate(target, RATE, ctx.cfg.seconds, server=gw)
    out["memory"] = measure.memory(gw)
    return out


def tracing(ctx: Context) -> Result:
    load_before = os.getloadavg()[0]
    key = fresh_key(ctx, "tracing")
    with running([start_sink(ctx)]) as (sink,):
        on = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "OTEL_SERVICE_NAME": "opentoken-bench"}
        modes: dict[str, dict[str, str]] = {
            "off": {},
            "on": {**on, "OTEL_TRACES_SAMPLER": "always_on"},
            "sampled": {**on, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
        }
        rounds: list[Result] = []
        for i in range(ROUNDS):
            this: Result = {}
            for mode, extra in modes.items():
                server = start_gateway(
                    f"gateway-tracing-{mode}-{i}",
                    ctx.server_core,
                    ctx.log_dir,
                    ctx.db("tracing"),
                    ctx.upstream.url,
                    key,
                    extra_env=extra,
                )
                with running([server]) as (gw,):
                    this[mode] = _measure(ctx, gw, key)
                measure.settle()
            rounds.append(this)
        with urllib.request.urlopen(sink.url + "/count", timeout=5) as r:
            exported = json.loads(r.read())
    return {
        "rounds": rounds,
        "rate": RATE,
        "exported": exported,
        "summary": summary(rounds),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def summary(rounds: list[Result]) -> Result:
    """Means over the rounds, and on/off as a relative change."""

    def mean(mode: str, *path: str) -> float | None:
        values = []
        for r in rounds:
            v: object = r.get(mode)
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            if isinstance(v, int | float):
                values.append(float(v))
        return sum(values) / len(values) if values else None

    out: Result = {}
    for name, path in {
        "rps": ("saturation", "rps"),
        "cpu_us_per_request": ("saturation", "cpu_us_per_request"),
        "stream_rps": ("stream_saturation", "rps"),
        "rate_p50_ms": ("rate", "p50_ms"),
        "rate_p99_ms": ("rate", "p99_ms"),
        "rate_cpu_us_per_request": ("rate", "cpu_us_per_request"),
        "rss_mb": ("memory", "rss_mb"),
    }.items():
        off = mean("off", *path)
        row: Result = {"off": off}
        for mode in ("on", "sampled"):
            value = mean(mode, *path)
            row[mode] = value
            row[f"{mode}_change"] = None if not off or value is None else round((value - off) / off, 4)
        out[name] = row
    return out
