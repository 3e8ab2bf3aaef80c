"""``python -m bench``: the gateway against the sandbox (direct), a minimal pass-through and LiteLLM's proxy.

    uv run python -m bench                 # quick run (~10 min), writes docs/benchmarks.md and docs/img/
    uv run python -m bench --full          # the full run (10,000 x 60 s streams, 1M keys, 10M ledger rows,
                                           # the console on 10M rows and 100,000 keys, SQLite and PostgreSQL)
    uv run python -m bench --smoke         # a minute: checks the harness end to end
    uv run python -m bench --only compare,slow --slow-streams 5000 --seconds 5

The upstream (zero-latency sandbox) and the load generator share one core, the server under test gets the
other (``--cores 0,1``). wrk is used for saturation when present (installed with apt-get when possible);
LiteLLM and matplotlib are installed into their own virtualenvs under ~/.cache/opentoken-bench
(``--no-install`` to skip, ``--no-litellm`` to leave LiteLLM out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from bench import console, messages, phases, report, scaling, targets, tracing, workers
from bench.config import Config
from bench.peers import ensure_litellm, ensure_matplotlib, ensure_wrk
from bench.procs import pin, raise_file_limit, running
from bench.servers import start_sandbox

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {
    "compare": phases.compare,
    "prompt": scaling.prompt_sizes,
    "keys": scaling.keys,
    "ledger": scaling.ledger,
    "slow": phases.slow_streams,
    "console": console.console,
    "messages": messages.section,
    "tracing": tracing.tracing,
    "workers": workers.workers,
}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_const", dest="mode", const="full", help="the full run")
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick", help="the default")
    mode.add_argument("--smoke", action="store_const", dest="mode", const="smoke", help="seconds-long harness check")
    p.add_argument("--only", help=f"comma-separated sections out of {','.join(SECTIONS)}")
    p.add_argument("--seconds", type=float, help="length of each measurement")
    p.add_argument("--slow-streams", type=int, help="concurrent slow streams to hold")
    p.add_argument("--slow-seconds", type=float, help="duration of each slow stream")
    p.add_argument("--key-counts", help="comma-separated key counts, e.g. 1,1000,1000000")
    p.add_argument("--ledger-counts", help="comma-separated ledger sizes, e.g. 0,1000000,10000000")
    p.add_argument("--console-rows", type=int, help="ledger rows under the console section (10,000,000 full)")
    p.add_argument("--console-keys", type=int, help="keys under the console section (100,000 full)")
    p.add_argument("--cores", default="0,1", help="'LOAD,SERVER' cores, or 'none' to run unpinned")
    p.add_argument("--no-litellm", action="store_true", help="leave LiteLLM's proxy out")
    p.add_argument("--no-proposals", action="store_true", help="leave the patched gateway (bench/proposals) out")
    p.add_argument("--no-install", action="store_true", help="install nothing (no wrk, LiteLLM or matplotlib)")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/opentoken-bench"))
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--no-doc", action="store_true", help="print the report instead of writing docs/ and bench/results/")
    p.add_argument(
        "--merge", action="store_true", help="keep the other sections of bench/results/MODE.json (with --only)"
    )
    return p.parse_args()


def _config(a: argparse.Namespace) -> Config:
    cfg = Config.preset(a.mode or "quick")
    if a.seconds:
        cfg.seconds = a.seconds
    if a.slow_streams:
        cfg.slow_streams = a.slow_streams
    if a.slow_seconds:
        cfg.slow_seconds = a.slow_seconds
    if a.key_counts:
        cfg.key_counts = tuple(int(x) for x in a.key_counts.split(","))
    if a.ledger_counts:
        cfg.ledger_counts = tuple(int(x) for x in a.ledger_counts.split(","))
    if a.console_rows:
        cfg.console_rows = a.console_rows
    if a.console_keys:
        cfg.console_keys = a.console_keys
    if a.only:
        cfg.sections = tuple(s for s in a.only.split(",") if s)
    unknown = set(cfg.sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    cfg.cores = None if a.cores == "none" else tuple(int(c) for c in a.cores.split(","))  # type: ignore[assignment]
    cfg.litellm, cfg.install, cfg.work_dir = not a.no_litellm, not a.no_install, a.work_dir
    cfg.proposals = not a.no_proposals
    return cfg


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _meta(cfg: Config, wrk: str, litellm: str) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": cfg.mode,
        "seconds": cfg.seconds,
        "rates": list(cfg.rates),
        "prompt_rate": cfg.prompt_rate,
        "scale_rate": cfg.scale_rate,
        "commit": commit or "unknown",
        "cpu": _cpu_name(),
        "cores": len(__import__("os").sched_getaffinity(0)),
        "load_core": cfg.cores[0] if cfg.cores else "any",
        "server_core": cfg.cores[1] if cfg.cores else "any",
        "python": platform.python_version(),
        "wrk": wrk,
        "litellm": litellm,
        "notes": [],
    }


def _plot(cfg: Config, results_file: Path, doc: Path) -> str | None:
    python, why = ensure_matplotlib(cfg.install)
    if python is None:
        print(f"[bench] no plot: matplotlib {why}", file=sys.stderr)
        return None
    img = doc.parent / "img" / "benchmarks.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), str(ROOT / "bench" / "plot.py"), str(results_file), str(img)], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"[bench] plot failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    return f"![benchmark plot]({img.relative_to(doc.parent)})"


def main() -> None:
    a = _args()
    cfg = _config(a)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    log_dir = cfg.work_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    raise_file_limit()
    wrk, wrk_why = ensure_wrk(cfg.install)
    litellm, litellm_why = (
        ensure_litellm(cfg.install) if cfg.litellm and "compare" in cfg.sections else (None, "not run")
    )
    results: dict[str, Any] = {
        "meta": _meta(cfg, f"wrk ({wrk_why})" if wrk else f"Python load generator ({wrk_why})", litellm_why)
    }
    pin([cfg.cores[0]] if cfg.cores else None)
    sandbox = start_sandbox("sandbox", cfg.cores[0] if cfg.cores else None, log_dir)
    with running([sandbox]):
        ctx = phases.Context(cfg, log_dir, sandbox, wrk, litellm, results["meta"]["notes"])
        for name in cfg.sections:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                results[name] = SECTIONS[name](ctx)
            except (RuntimeError, OSError) as e:  # one broken section must not lose the others' figures
                traceback.print_exc()
                results["meta"]["notes"].append(f"section {name} failed: {e}")
    saved = ROOT / "bench" / "results" / f"{cfg.mode}.json"
    if a.merge and saved.exists():
        previous = json.loads(saved.read_text())
        notes = report.carried_notes(previous.get("meta", {}).get("notes", []), cfg.sections)
        rerun = f"{', '.join(cfg.sections)} re-measured {results['meta']['date']} (commit {results['meta']['commit']})"
        previous.update({k: v for k, v in results.items() if k != "meta"})
        previous.setdefault("meta", {})["notes"] = [*notes, *results["meta"]["notes"], rerun]
        results = previous
    out = cfg.work_dir / "results.json"
    out.write_text(json.dumps(results, indent=1))
    if a.no_doc:  # a look, not a record: bench/results/ stays the record behind docs/benchmarks.md
        print(report.render(results, None))
        print(f"[bench] raw figures: {out}", file=sys.stderr)
        return
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"{cfg.mode}.json").write_text(json.dumps(results, indent=1))
    print(f"Targets (issue 16)\n{targets.table(results)}")
    report.write(a.doc, results, _plot(cfg, out, a.doc))
    print(f"[bench] wrote {a.doc} (raw figures: bench/results/{cfg.mode}.json)", file=sys.stderr)


if __name__ == "__main__":
    main()
