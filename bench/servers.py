"""The four things measured side by side: the sandbox itself (direct), the minimal pass-through, the gateway,
and LiteLLM's proxy. Each ``start_*`` returns a running ``Server`` pinned to the given core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.peers import LITELLM_KEY, litellm_config
from bench.procs import Server, clean_env, free_port, opentoken_argv, spawn, wait_http

# Limits are on for the gateway's key: high enough never to refuse a benchmark request, but every request
# still goes through the rpm, tpm and budget counters (and its cost is reserved and settled).
KEY_LIMITS = ("--rpm", "100000000", "--tpm", "100000000000", "--budget-usd", "1000000")


def start_sandbox(
    name: str, core: int | None, log_dir: Path, *, latency_ms: float = 0, tokens_per_second: float = 0
) -> Server:
    port = free_port()
    argv = opentoken_argv(
        "sandbox", "--port", str(port), "--latency-ms", str(latency_ms), "--tokens-per-second", str(tokens_per_second)
    )
    proc, log = spawn(name, argv, env=clean_env(), core=core, log_dir=log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log)
    return Server(name, url, proc, log)


def gateway_env(db: Path, upstream: str, google_upstream: str | None = None) -> dict[str, str]:
    return clean_env(
        {
            "OPENTOKEN_DATABASE_URL": f"sqlite:///{db}",
            "OPENTOKEN_LOG_LEVEL": "warning",
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "OPENTOKEN_ANTHROPIC_BASE_URL": upstream,
            "GEMINI_API_KEY": "gemini-bench",
            "OPENTOKEN_GEMINI_BASE_URL": google_upstream or upstream,
        }
    )


def create_key(env: dict[str, str], name: str = "bench", limits: tuple[str, ...] = KEY_LIMITS) -> str:
    out = subprocess.run(
        opentoken_argv("keys", "create", "--name", name, *limits), env=env, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"opentoken keys create failed: {out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def start_gateway(
    name: str,
    core: int | None,
    log_dir: Path,
    db: Path,
    upstream: str,
    key: str | None = None,
    *,
    extra_env: dict[str, str] | None = None,
) -> Server:
    env = {**gateway_env(db, upstream), **(extra_env or {})}
    secret = key or create_key(env)
    port = free_port()
    proc, log = spawn(name, opentoken_argv("serve", "--port", str(port)), env=env, core=core, log_dir=log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log)
    return Server(name, url, proc, log, meta={"key": secret})


def start_patched_gateway(name: str, core: int | None, log_dir: Path, db: Path, upstream: str, key: str) -> Server:
    """The gateway with the proposed changes patched in (bench/proposals/patched_gateway.py)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.proposals.patched_gateway", "--port", str(port)]
    env = gateway_env(db, upstream)
    proc, log = spawn(name, argv, env=env, core=core, log_dir=log_dir, cwd=Path(__file__).parent.parent)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log)
    return Server(name, url, proc, log, meta={"key": key})


def start_passthrough(name: str, core: int | None, log_dir: Path, upstream: str, client: str = "aiohttp") -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.passthrough", "--port", str(port), "--upstream", upstream, "--client", client]
    proc, log = spawn(name, argv, env=clean_env(), core=core, log_dir=log_dir, cwd=Path(__file__).parent.parent)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log)
    return Server(name, url, proc, log)


def start_litellm(name: str, core: int | None, log_dir: Path, litellm: Path, upstreams: dict[str, str]) -> Server:
    port = free_port()
    config = log_dir / "litellm.yaml"
    config.write_text(litellm_config(upstreams))
    env = clean_env({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION"})
    argv = [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    proc, log = spawn(name, argv, env=env, core=core, log_dir=log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health/liveliness", proc, log, timeout=180)
    return Server(name, url, proc, log, meta={"key": LITELLM_KEY})
