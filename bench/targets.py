"""The targets of issue 16, each figure next to direct, the minimal pass-through and LiteLLM from the same run.

Every row says met or missed, and by how much. The multi-worker figures (``serve --workers N``) are measured
by the ``workers`` section; this table points to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PEERS = ("direct", "passthrough", "litellm", "gateway")
HEAD = ["figure", "direct", "pass-through", "LiteLLM", "gateway", "target", "verdict"]


def _get(d: Any, *path: Any) -> Any:
    for p in path:
        d = d.get(p) if isinstance(d, dict) else None
    return d


def _rate(r: dict[str, Any], server: str, rate: int) -> dict[str, Any] | None:
    for row in _get(r, "compare", server, "rates") or []:
        if row.get("rate") == rate and "skipped" not in row:
            return dict(row)
    return None


def _fmt(x: float | None, digits: int, unit: str = "") -> str:
    return "-" if x is None else f"{x:,.{digits}f}{unit}"


@dataclass(frozen=True)
class Goal:
    value: float
    higher: bool  # True: at least ``value``; False: at most
    unit: str = ""
    digits: int = 2

    def text(self) -> str:
        return ("≥ " if self.higher else "≤ ") + _fmt(self.value, self.digits, self.unit)

    def verdict(self, measured: float | None) -> str:
        if measured is None:
            return "not measured"
        ok = measured >= self.value if self.higher else measured <= self.value
        if ok:
            return "met"
        gap = abs(measured - self.value)
        return f"**missed** by {_fmt(gap, self.digits, self.unit)} ({gap / self.value * 100:.0f}%)"


def _overhead(r: dict[str, Any], server: str, pct: str) -> float | None:
    mine, direct = _get(_rate(r, server, 200), pct), _get(_rate(r, "direct", 200), pct)
    return None if mine is None or direct is None else mine - direct


def _ttft(r: dict[str, Any], server: str) -> float | None:
    mine = _get(r, "compare", server, "paced", "ttft", "p50_ms")
    direct = _get(r, "compare", "direct", "paced", "ttft", "p50_ms")
    return None if mine is None or direct is None else mine - direct


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def rows(r: dict[str, Any]) -> list[list[str]]:
    def each(path: tuple[str, ...], digits: int = 0, unit: str = "") -> list[str]:
        return [_fmt(_get(r, "compare", s, *path), digits, unit) for s in PEERS]

    sat = ("saturation", "rps")
    gw, pt, ll = (_get(r, "compare", s, *sat) for s in ("gateway", "passthrough", "litellm"))
    gw_s, pt_s = (_get(r, "compare", s, "stream_saturation", "rps") for s in ("gateway", "passthrough"))
    pt_cpu = _get(r, "compare", "passthrough", "saturation", "cpu_us_per_request")
    out: list[list[str]] = []

    def row(name: str, values: list[str], goal: Goal | None, measured: float | None, goal_text: str = "") -> None:
        out.append(
            [name, *values, goal_text or (goal.text() if goal else "-"), goal.verdict(measured) if goal else "-"]
        )

    ratio = Goal(0.8, higher=True, unit="x")
    row("Non-streaming requests/s", each(sat), None, None)
    row("… gateway ÷ pass-through", ["", "", "", _fmt(_ratio(gw, pt), 2, "x")], ratio, _ratio(gw, pt))
    row("… gateway ÷ LiteLLM", ["", "", "", _fmt(_ratio(gw, ll), 1, "x")], Goal(50, True, "x", 1), _ratio(gw, ll))
    cpu_goal = Goal(pt_cpu / 0.8, higher=False, unit=" µs", digits=0) if pt_cpu else None
    row(
        "CPU µs per request at saturation",
        each(("saturation", "cpu_us_per_request")),
        cpu_goal,
        _get(r, "compare", "gateway", "saturation", "cpu_us_per_request"),
        goal_text=f"{cpu_goal.text()} (pass-through ÷ 0.8)" if cpu_goal else "",
    )
    for pct, goal in (("p50_ms", 0.5), ("p99_ms", 1.5)):
        values = ["0"] + [_fmt(_overhead(r, s, pct), 2, " ms") for s in PEERS[1:]]
        row(
            f"Overhead over direct at 200 req/s, {pct[:3]}",
            values,
            Goal(goal, higher=False, unit=" ms"),
            _overhead(r, "gateway", pct),
        )
    row("Streams/s at saturation", each(("stream_saturation", "rps")), None, None)
    row("… gateway ÷ pass-through", ["", "", "", _fmt(_ratio(gw_s, pt_s), 2, "x")], ratio, _ratio(gw_s, pt_s))
    row(
        "TTFT overhead p50, 50 paced streams",
        ["0"] + [_fmt(_ttft(r, s), 2, " ms") for s in PEERS[1:]],
        Goal(1.0, higher=False, unit=" ms"),
        _ttft(r, "gateway"),
    )
    row(
        "Idle RSS",
        each(("memory_idle", "rss_mb"), 0, " MB"),
        Goal(80, higher=False, unit=" MB", digits=0),
        _get(r, "compare", "gateway", "memory_idle", "rss_mb"),
    )
    held = _get(r, "slow", "streams")
    rss = _get(r, "slow", "rss_max_mb")
    name = f"RSS holding {held:,} streams" if held else "RSS holding 10,000 streams"
    if held and held < 10_000:
        name += " (fewer than the 10,000 of the target)"
    row(name, ["-", "-", "-", _fmt(rss, 0, " MB")], Goal(400, higher=False, unit=" MB", digits=0), rss)
    out.append(
        [
            "Every core: `serve --workers N`",
            "",
            "",
            "",
            "see *Workers*",
            "≥ 1.6x one worker; CPU/request +≤10%",
            "in the `workers` section",
        ]
    )
    return out


def table(r: dict[str, Any]) -> str:
    if not r.get("compare") and not r.get("slow"):
        return ""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows(r)]
    return "\n".join(lines)
