"""The console on a big database: every page's time with ``console_rows`` ledger rows and ``console_keys`` keys,
on SQLite and on PostgreSQL, and the gateway's chat latency while a console page is being read.

Page times are measured at the client over loopback (so they include HTTP, a slight over-estimate of the
server's time): sequential GETs of each page after a warm-up, p50 / p95 / max. The chat comparison runs the
fixed-rate chat load alone, then with one person reading console pages (a page every half second), then
with a reader that loads pages back to back, then alone again (to show drift from other load).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import measure
from bench.config import openai_target
from bench.console_seed import key_id, reset_postgres, secret, seed_postgres, seed_sqlite
from bench.measure import Result
from bench.phases import Context
from bench.procs import Server, clean_env, free_port, opentoken_argv, running, spawn, wait_http

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_console"
ADMIN_KEY = "bench-admin-key"
TARGET_MS = 100.0
WARM = 3
SAMPLES = 30


def _env(database_url: str, upstream: str) -> dict[str, str]:
    return clean_env(
        {
            "OPENTOKEN_DATABASE_URL": database_url,
            "OPENTOKEN_LOG_LEVEL": "warning",
            "OPENTOKEN_ADMIN_KEY": ADMIN_KEY,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "OPENTOKEN_ANTHROPIC_BASE_URL": upstream,
            "GEMINI_API_KEY": "gemini-bench",
            "OPENTOKEN_GEMINI_BASE_URL": upstream,
        }
    )


def _migrate(env: dict[str, str]) -> None:
    import subprocess

    done = subprocess.run(opentoken_argv("migrate"), env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"opentoken migrate failed: {done.stderr[-2000:]}")


class Reader:
    """A signed-in browser, as far as the server can tell: the session cookie on every GET."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        with urllib.request.urlopen(base + "/console/login", timeout=30) as r:
            page = r.read().decode()
            login_cookie = next(c for c in r.headers.get_all("set-cookie") if c.startswith("ot_login="))
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        data = urllib.parse.urlencode({"csrf": token.group(1), "key": key, "next": "/console"}).encode()
        request = urllib.request.Request(base + "/console/login", data=data, method="POST")
        request.add_header("cookie", login_cookie.split(";")[0])
        opener = urllib.request.build_opener(_NoRedirect())
        with opener.open(request, timeout=60) as r:
            cookie = next(c for c in r.headers.get_all("set-cookie") if c.startswith("ot_session="))
        self.cookie = cookie.split(";")[0]

    def get(self, path: str) -> tuple[int, float, bytes]:
        request = urllib.request.Request(self.base + path, headers={"cookie": self.cookie})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as r:
            body = r.read()
            status = r.status
        return status, (time.perf_counter() - start) * 1000, body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

    def http_error_303(self, req: object, fp: object, code: int, msg: str, headers: object) -> object:
        return fp


def _pages(reader: Reader, operator: Reader) -> list[tuple[str, Reader, str]]:
    """Every page the console has, on the busiest key and across keys, including the slow paths of the log."""
    _, _, body = operator.get("/console/requests?key_id=" + key_id(0))
    ids = re.findall(r'data-request="([^"]+)"', body.decode())
    _, _, first = operator.get("/console/requests?error_code=timeout")
    cursor = re.search(r'href="/console/requests\?([^"]*before_at[^"]*)"', first.decode())
    if cursor is None:
        raise RuntimeError("the request log has no second page")
    page_two = "/console/requests?" + cursor.group(1).replace("&amp;", "&")
    now = datetime.now(UTC)
    month_ago = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    deep = urllib.parse.urlencode({"before_at": (now - timedelta(days=45)).isoformat(), "before_id": "req_~"})
    return [
        ("models", reader, "/models"),
        ("models (filtered, cards)", reader, "/models?provider=google&cap=vision&sort=price&view=cards"),
        ("model page", reader, "/models/anthropic/claude-sonnet-4-6"),
        ("holder: overview + charts", reader, "/console"),
        ("holder: requests", reader, "/console/requests"),
        ("holder: requests by model", reader, "/console/requests?model=google/gemini-3-pro"),
        ("holder: failed requests", reader, "/console/requests?status=error"),
        ("holder: request detail", reader, f"/console/requests/{ids[0]}"),
        ("holder: playground", reader, "/console/playground"),
        ("operator: overview + charts", operator, "/console"),
        ("operator: usage + charts", operator, "/console/usage"),
        ("operator: usage of one key", operator, f"/console/usage?key_id={key_id(0)}"),
        ("operator: usage CSV (per day)", operator, "/console/usage.csv"),
        ("operator: keys", operator, "/console/keys"),
        ("operator: keys search", operator, "/console/keys?q=seeded+key+4242"),
        ("operator: key detail + chart", operator, f"/console/keys/{key_id(0)}"),
        ("operator: requests", operator, "/console/requests"),
        ("operator: requests by key", operator, f"/console/requests?key_id={key_id(77)}"),
        ("operator: requests by model", operator, "/console/requests?model=anthropic/claude-opus-4-5"),
        ("operator: requests status 429", operator, "/console/requests?status=429"),
        ("operator: requests error code", operator, "/console/requests?error_code=client_disconnected"),
        ("operator: requests, time range", operator, f"/console/requests?until={month_ago}"),
        ("operator: requests, page 2 (keyset)", operator, page_two),
        ("operator: requests, 45 days back (keyset)", operator, f"/console/requests?{deep}"),
        ("operator: request detail", operator, f"/console/requests/{ids[-1]}"),
        ("operator: deployments", operator, "/console/deployments"),
        ("operator: catalog", operator, "/console/catalog"),
    ]


def _time_pages(pages: list[tuple[str, Reader, str]], samples: int) -> list[Result]:
    out = []
    for name, reader, path in pages:
        for _ in range(WARM):
            reader.get(path)
        times = []
        for _ in range(samples):
            status, ms, _ = reader.get(path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            times.append(ms)
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
        out.append(
            {
                "page": name,
                "path": path,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(p95, 2),
                "max_ms": round(max(times), 2),
                "met": p95 <= TARGET_MS,
            }
        )
    return out


def _reading(pages: list[tuple[str, Reader, str]], pause: float, stop: threading.Event, count: list[int]) -> None:
    while not stop.is_set():
        for _, reader, path in pages:
            if stop.is_set():
                return
            reader.get(path)
            count[0] += 1
            if pause:
                stop.wait(pause)


def _chat_while(ctx: Context, gw: Server, key: str, pages: list[tuple[str, Reader, str]]) -> Result:
    """Chat latency at a fixed rate: alone, with one person reading pages, and with pages read back to back."""
    target = openai_target("gateway", gw.url, key)
    rate, seconds = ctx.cfg.scale_rate, ctx.cfg.seconds
    asyncio.run(_warm(target))
    out: Result = {"rate": rate}
    # the chat alone before and after the reading runs, so drift (another load on the machine) shows
    for label, pause in (("alone", None), ("one_reader", 0.5), ("reader_back_to_back", 0.0), ("alone_again", None)):
        if pause is None:
            out[label] = measure.fixed_rate(target, rate, seconds, server=gw)
            continue
        stop, count = threading.Event(), [0]
        thread = threading.Thread(target=_reading, args=(pages, pause, stop, count), daemon=True)
        thread.start()
        try:
            out[label] = measure.fixed_rate(target, rate, seconds, server=gw)
        finally:
            stop.set()
            thread.join(60)
        out[label]["pages_per_second"] = round(count[0] / seconds, 1)
    return out


async def _warm(target: object) -> None:
    from bench import loadgen

    await loadgen.fixed_rate(target, rate=20, seconds=1)  # type: ignore[arg-type]


def _gateway(ctx: Context, name: str, env: dict[str, str]) -> Server:
    port = free_port()
    proc, log = spawn(
        name, opentoken_argv("serve", "--port", str(port)), env=env, core=ctx.server_core, log_dir=ctx.log_dir
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log, timeout=300)
    return Server(name, url, proc, log)


def _backend(ctx: Context, backend: str, seed: Callable[[dict[str, str]], dict[str, float]], url: str) -> Result:
    env = _env(url, ctx.upstream.url)
    _migrate(env)
    loaded = seed(env)
    with running([_gateway(ctx, f"gateway-console-{backend}", env)]) as (gw,):
        reader, operator = Reader(gw.url, secret(0)), Reader(gw.url, ADMIN_KEY)
        pages = _pages(reader, operator)
        times = _time_pages(pages, ctx.cfg.console_samples)
        chat = _chat_while(ctx, gw, secret(1), pages)
        memory = measure.memory(gw)
    return {"backend": backend, "load_seconds": loaded, "pages": times, "chat": chat, "memory": memory}


def console(ctx: Context) -> Result:
    cfg = ctx.cfg
    rows, keys = cfg.console_rows, cfg.console_keys
    now = datetime.now(UTC)
    results: Result = {"rows": rows, "keys": keys, "target_ms": TARGET_MS, "backends": []}
    db = ctx.cfg.work_dir / "console.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    results["backends"].append(_backend(ctx, "sqlite", lambda env: seed_sqlite(db, keys, rows, now), f"sqlite:///{db}"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)  # gigabytes: not kept after the measurement
    reset_postgres(PG_DSN, PG_SCHEMA)
    url = f"{PG_DSN}?options=-csearch_path%3D{PG_SCHEMA}"
    try:
        results["backends"].append(
            _backend(ctx, "postgresql", lambda env: seed_postgres(PG_DSN, PG_SCHEMA, keys, rows, now), url)
        )
    finally:
        reset_postgres(PG_DSN, PG_SCHEMA)
    return results
