"""Load generators: ``wrk`` for saturation (when installed), asyncio + aiohttp for everything that needs
per-request timing (fixed-rate latency, time to first token, thousands of held streams).

All loops are bounded by a request count or a duration and talk to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

FIRST_TOKEN = b"Sandbox"  # every simulated reply starts with this word, whatever the wire format


@dataclass(frozen=True)
class Target:
    """One endpoint with the headers and body of the workload (non-stream and stream variants)."""

    name: str
    url: str
    headers: dict[str, str]
    body: bytes
    stream_body: bytes


@dataclass
class Saturation:
    requests: int
    seconds: float
    errors: int
    tool: str
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    sent: int = 0
    seconds: float = 0.0

    def pct(self, p: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def achieved(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0


@dataclass
class StreamTimes:
    ttft: Latencies = field(default_factory=Latencies)
    total: Latencies = field(default_factory=Latencies)


def session(limit: int = 0) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, keepalive_timeout=120, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)


# --- wrk -------------------------------------------------------------------------------------------------------

_WRK_LUA = """wrk.method = "POST"
{headers}
wrk.body = [==[{body}]==]
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, target: Target, *, stream: bool, connections: int, seconds: float) -> Saturation:
    body = (target.stream_body if stream else target.body).decode()
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in target.headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_LUA.format(headers=headers, body=body))
        script = f.name
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        script,
        target.url,
    ]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        Path(script).unlink(missing_ok=True)
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    secs = float(done.group(2)) * {"s": 1, "ms": 1e-3, "m": 60}.get(done.group(3), 1)
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(sock.group(i)) for i in (1, 3, 4))
    p50 = re.search(r"50%\s+(\S+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return Saturation(
        requests=int(done.group(1)),
        seconds=secs,
        errors=errors,
        tool="wrk",
        p50_ms=_ms(p50.group(1)) if p50 else None,
        p99_ms=_ms(p99.group(1)) if p99 else None,
    )


# --- asyncio load ---------------------------------------------------------------------------------------------


async def _post(
    http: aiohttp.ClientSession, target: Target, body: bytes, headers: dict[str, str] | None = None
) -> bool:
    async with http.post(target.url, data=body, headers=headers or target.headers) as r:
        await r.read()
        return r.status == 200


async def saturate(target: Target, *, stream: bool, connections: int, seconds: float) -> Saturation:
    """Closed loop: ``connections`` workers send back to back for ``seconds`` (used when wrk is missing)."""
    body = target.stream_body if stream else target.body
    done = errors = 0
    async with session(connections) as http:
        end = time.perf_counter() + seconds
        lat: list[float] = []

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                try:
                    ok = await _post(http, target, body)
                except aiohttp.ClientError:
                    ok = False
                lat.append(time.perf_counter() - t0)
                done += 1
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    stats = Latencies(lat)
    return Saturation(done, elapsed, errors, "python", stats.pct(50), stats.pct(99))


async def fixed_rate(
    target: Target,
    *,
    rate: float,
    seconds: float,
    body: bytes | None = None,
    authorizations: list[str] | None = None,
) -> Latencies:
    """Open loop: one request every 1/rate s for ``seconds``; latency from send to the last byte.
    With ``authorizations``, request i sends ``authorizations[i % len]`` (e.g. to miss the key cache)."""
    payload = target.body if body is None else body
    n = max(1, int(rate * seconds))
    result = Latencies()
    async with session() as http:
        await _post(http, target, payload)  # warm the connection pool
        loop = asyncio.get_running_loop()

        async def one(i: int) -> None:
            headers = target.headers
            if authorizations:
                headers = {**headers, "authorization": authorizations[i % len(authorizations)]}
            t0 = time.perf_counter()
            try:
                ok = await _post(http, target, payload, headers)
            except aiohttp.ClientError:
                ok = False
            if ok:
                result.samples.append(time.perf_counter() - t0)
            else:
                result.errors += 1

        tasks = []
        start = loop.time()
        for i in range(n):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i)))
            result.sent += 1
        await asyncio.gather(*tasks)
        result.seconds = loop.time() - start
    return result


async def _one_stream(http: aiohttp.ClientSession, target: Target, times: StreamTimes) -> None:
    t0 = time.perf_counter()
    first: float | None = None
    seen = b""
    try:
        async with http.post(target.url, data=target.stream_body, headers=target.headers) as r:
            ok = r.status == 200
            async for chunk in r.content.iter_any():
                if first is None:
                    seen = (seen + chunk)[-4096:]
                    if FIRST_TOKEN in seen:
                        first = time.perf_counter()
    except aiohttp.ClientError:
        ok = False
    end = time.perf_counter()
    if ok and first is not None:
        times.ttft.samples.append(first - t0)
        times.total.samples.append(end - t0)
    else:
        times.total.errors += 1


async def paced_streams(target: Target, *, concurrency: int, seconds: float) -> StreamTimes:
    """``concurrency`` clients each stream one reply after another for ``seconds``."""
    times = StreamTimes()
    async with session() as http:
        end = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < end:
                await _one_stream(http, target, times)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        times.total.seconds = times.ttft.seconds = time.perf_counter() - start
    return times


async def hold_streams(
    target: Target, *, count: int, ramp_per_second: float, sample: Callable[[], None], sample_every: float = 1.0
) -> StreamTimes:
    """Open ``count`` streams (``ramp_per_second`` new ones a second) and keep them all until they end,
    calling ``sample()`` every ``sample_every`` seconds meanwhile (to record the server's memory)."""
    times = StreamTimes()
    async with session() as http:
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                sample()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), sample_every)

        watcher = asyncio.ensure_future(sampler())
        tasks = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / ramp_per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(_one_stream(http, target, times)))
        await asyncio.gather(*tasks)
        stop.set()
        await watcher
        times.total.seconds = time.perf_counter() - start
    return times
