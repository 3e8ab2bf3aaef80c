"""Property-based fuzzing of every public endpoint of a real gateway process (issue 10).

A fixed, derandomised budget (the ``budget`` of each entry in ``fuzz.endpoints``, about 2,000 cases in all)
of valid requests and mutations of them. Every answer must hold these properties:

- no 5xx (a 502/503/504 from the upstream would be allowed, but the sandbox upstream never fails here);
- every 4xx is an OpenAI-shaped error (``{"error": {"message", "type", "param", "code"}}``), and a 400 about
  the request body names its ``param`` (a body that is not a JSON object, or a request that is not valid
  HTTP, has none to name);
- meanwhile ``/healthz``, probed every 20 ms from another process, answers within 100 ms (95% of probes;
  the machine is shared, so a lone slow probe is the scheduler's; none may take a second);
- the gateway's RSS does not keep growing: after a warm-up, the run adds less than ``RSS_GROWTH_MB``.

The last test prints the figures (cases, statuses seen, 5xx count, probe latencies, RSS).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx2 as httpx
import orjson
import psutil
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from fuzz.endpoints import ENDPOINTS, Endpoint, Request
from fuzz.shapes import TEXT
from support.probe import HealthProbe
from support.servers import Gateway

RSS_GROWTH_MB = 40
WARM_UP = "POST /v1/chat/completions"  # RSS is measured from the end of the first (largest) entry


@dataclass
class FuzzRun:
    gateway: Gateway
    probe: HealthProbe
    own_key_id: str
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    by_endpoint: dict[str, collections.Counter[int]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    stopped: bool = False

    def rss(self) -> float:
        return float(psutil.Process(self.gateway.proc.pid).memory_info().rss) / 2**20

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.probe.__exit__(None, None, None)


@pytest.fixture(scope="module")
def run(gateway: Gateway) -> Iterator[FuzzRun]:
    created = httpx.post(
        gateway.url + "/admin/v1/keys",
        headers={"Authorization": f"Bearer {gateway.admin_key}"},
        json={"name": "fuzz-target"},
        timeout=30,
    )
    probe = HealthProbe(gateway.url).__enter__()
    state = FuzzRun(gateway, probe, created.json()["id"])
    yield state
    state.stop()


def _authorization(request: Request, gw: Gateway, fuzzed: str) -> dict[str, str]:
    match request.credential:
        case "key":
            return {"Authorization": f"Bearer {gw.key}"}
        case "admin":
            return {"Authorization": f"Bearer {gw.admin_key}"}
        case "fuzzed":
            return {"Authorization": fuzzed.strip()}
        case _:
            return {}


def check(endpoint: Endpoint, request: Request, reply: httpx.Response, run: FuzzRun) -> None:
    run.statuses[reply.status_code] += 1
    run.by_endpoint.setdefault(endpoint.name, collections.Counter())[reply.status_code] += 1
    where = f"{request.method} {request.path} -> {reply.status_code}: {reply.text[:300]!r}\nbody: {request.body!r:.300}"
    if reply.status_code >= 500:
        run.server_errors.append(where)
    assert reply.status_code < 500, where
    if reply.status_code < 400:
        return
    body = reply.json()
    if endpoint.errors == "anthropic" and body.get("error", {}).get("code") != "invalid_http":
        # (a request the HTTP server itself refuses, before any route is chosen, is answered in OpenAI's shape)
        assert body.get("type") == "error" and isinstance(body["error"]["message"], str), where
        assert isinstance(body["error"]["type"], str) and body["error"]["message"], where
        return
    try:
        error = reply.json()["error"]
    except (ValueError, KeyError, TypeError) as e:
        raise AssertionError(f"not an OpenAI error: {where}") from e
    assert isinstance(error["message"], str) and error["message"], where
    assert isinstance(error["type"], str) and set(error) >= {"message", "type", "param", "code"}, where
    if (
        reply.status_code == 400
        and _json_object(request.body)
        and endpoint.names_param
        and error["code"] != "invalid_http"
    ):
        assert error["param"], where


def _json_object(body: bytes | None) -> bool:
    try:
        return isinstance(orjson.loads(body or b""), dict)
    except orjson.JSONDecodeError:
        return False


def send(client: httpx.Client, request: Request, run: FuzzRun, fuzzed: str) -> httpx.Response:
    path = request.path.replace("{own}", run.own_key_id)
    headers = _authorization(request, run.gateway, fuzzed)
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    try:
        return client.request(request.method, path, content=request.body, headers=headers)
    except (httpx.InvalidURL, httpx.LocalProtocolError):
        return client.get("/healthz")  # a request the client itself refuses to send: nothing to check


FUZZED_AUTH = st.sampled_from(["Bearer nope", "bearer ", "Basic eA==", "Bearer  ", "x" * 2000]) | TEXT.map(
    lambda s: "Bearer " + s.encode("ascii", "ignore").decode()
)


def draw_cases(endpoint: Endpoint) -> list[tuple[Request, str]]:
    """The endpoint's fixed budget of cases, drawn by Hypothesis from a fixed seed (the same on every run).

    They are drawn first and sent afterwards: Hypothesis then sees a pure function of its choices, and the
    time the gateway takes cannot change which cases are drawn.
    """
    cases: list[tuple[Request, str]] = []

    @settings(
        max_examples=endpoint.budget,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate,),
    )
    @seed(20261207)
    @given(request=endpoint.requests, fuzzed=FUZZED_AUTH)
    def draw(request: Request, fuzzed: str) -> None:
        cases.append((request, fuzzed))

    draw()
    return cases


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_fuzz(endpoint: Endpoint, run: FuzzRun) -> None:
    failures: list[str] = []
    with httpx.Client(base_url=run.gateway.url, timeout=60) as client:
        for request, fuzzed in draw_cases(endpoint):
            try:
                check(endpoint, request, send(client, request, run, fuzzed), run)
            except (AssertionError, httpx.HTTPError) as e:
                failures.append(f"{type(e).__name__}: {e}"[:2000])
    run.rss_mb.append(run.rss())
    if endpoint.name == WARM_UP:
        run.rss_mb = [run.rss_mb[-1]]
    assert not failures, f"{len(failures)} failing cases:\n\n" + "\n\n".join(failures[:10])


def test_the_gateway_held_up(run: FuzzRun) -> None:
    """The figures of the run, and the properties measured across it (see the module docstring)."""
    run.stop()
    cases = sum(run.statuses.values())
    grown = run.rss_mb[-1] - run.rss_mb[0] if run.rss_mb else 0.0
    probe = run.probe
    print(
        f"\nfuzz: {cases} cases, statuses {dict(sorted(run.statuses.items()))}, 5xx {len(run.server_errors)}\n"
        f"per endpoint: {json.dumps({k: dict(sorted(v.items())) for k, v in run.by_endpoint.items()})}\n"
        f"/healthz: {len(probe.latencies_ms)} probes, p50 {probe.percentile(0.5):.1f} ms, "
        f"p95 {probe.percentile(0.95):.1f} ms, worst {probe.worst:.1f} ms\n"
        f"RSS after warm-up {run.rss_mb[0]:.1f} MB, at the end {run.rss_mb[-1]:.1f} MB ({grown:+.1f} MB)"
    )
    assert cases >= sum(e.budget for e in ENDPOINTS) * 0.9
    assert run.server_errors == []
    assert probe.percentile(0.95) < 100 and probe.worst < 1000
    assert grown < RSS_GROWTH_MB
