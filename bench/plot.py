"""Draw docs/img/benchmarks.png from a results JSON. Needs matplotlib, which the project does not depend on:
``python -m bench`` runs this file with an interpreter that has it (see ``bench.peers.ensure_matplotlib``).

    python bench/plot.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SERVERS = ("direct", "passthrough-h1", "passthrough", "gateway-proposals", "gateway", "litellm")
COLORS = {
    "direct": "#888888",
    "passthrough-h1": "#72b7b2",
    "passthrough": "#4c78a8",
    "gateway-proposals": "#e45756",
    "gateway": "#f58518",
    "litellm": "#54a24b",
}


def _sat(ax: Any, r: dict[str, Any]) -> None:
    names = [s for s in SERVERS if s in r.get("compare", {})]
    x = range(len(names))
    plain = [r["compare"][s]["saturation"]["rps"] for s in names]
    stream = [r["compare"][s]["stream_saturation"]["rps"] for s in names]
    ax.bar([i - 0.2 for i in x], plain, 0.4, label="requests/s", color=[COLORS[s] for s in names])
    ax.bar([i + 0.2 for i in x], stream, 0.4, label="streams/s", color=[COLORS[s] for s in names], alpha=0.55)
    for i, (a, b) in enumerate(zip(plain, stream, strict=True)):
        ax.text(i - 0.2, a, f"{a:,.0f}", ha="center", va="bottom", fontsize=7)
        ax.text(i + 0.2, b, f"{b:,.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x), names, rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_title("Saturation on one core (solid: requests/s, light: streams/s)", fontsize=9)


def _latency(ax: Any, r: dict[str, Any]) -> None:
    for s in SERVERS:
        rates = [p for p in r.get("compare", {}).get(s, {}).get("rates", []) if "p50_ms" in p]
        if rates:
            ax.plot([p["rate"] for p in rates], [p["p50_ms"] for p in rates], "o-", color=COLORS[s], label=f"{s} p50")
            ax.plot([p["rate"] for p in rates], [p["p99_ms"] for p in rates], "x--", color=COLORS[s], label=f"{s} p99")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("requests/s (fixed rate)")
    ax.set_ylabel("ms")
    ax.set_title("Latency at fixed rates", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=5, ncol=3, loc="upper left")


def _growth(ax: Any, r: dict[str, Any]) -> None:
    for key, column, label in (("keys", "keys", "keys in store"), ("ledger", "ledger_rows", "ledger rows")):
        rows = [row for row in r.get(key, []) if row.get("saturation", {}).get("cpu_us_per_request")]
        if rows:
            xs = [max(1, row[column]) for row in rows]
            ax.plot(xs, [row["saturation"]["cpu_us_per_request"] for row in rows], "o-", label=label)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("count")
    ax.set_ylabel("gateway CPU µs per request")
    ax.set_title("Cost vs keys and ledger size", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _prompt(ax: Any, r: dict[str, Any]) -> None:
    rows = r.get("prompt", [])
    for name in ("passthrough", "gateway"):
        pts = [(p["bytes"], p[f"{name}_overhead"].get("p50_overhead_ms")) for p in rows]
        pts = [(b, v) for b, v in pts if v is not None]
        if pts:
            ax.plot([b for b, _ in pts], [v for _, v in pts], "o-", color=COLORS[name], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("request body bytes")
    ax.set_ylabel("p50 overhead over direct, ms")
    ax.set_title("Overhead vs prompt size", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def main(src: str, out: str) -> None:
    with open(src) as f:
        r = json.load(f)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    _sat(axes[0][0], r)
    _latency(axes[0][1], r)
    _growth(axes[1][0], r)
    _prompt(axes[1][1], r)
    fig.suptitle(
        f"OpenToken benchmark ({r.get('meta', {}).get('mode')} run, {r.get('meta', {}).get('date')})", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
