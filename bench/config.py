"""What one benchmark run measures and for how long (``--quick`` and ``--full`` presets, each overridable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.loadgen import Target

MODEL = "anthropic/claude-sonnet-4-5"
UPSTREAM_MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 16  # short replies: the benchmark measures the gateway, not the (simulated) model
PACED_MAX_TOKENS = 32
PACED_TOKENS_PER_SECOND = 400.0  # a paced reply lasts ~80 ms: 50 concurrent streams -> several hundred/s


@dataclass
class Config:
    mode: str
    seconds: float  # length of each measurement
    rates: tuple[int, ...] = (50, 200, 1000)
    connections: int = 64  # saturation: concurrent connections
    paced_concurrency: int = 50
    slow_streams: int = 10_000
    slow_seconds: float = 60.0
    slow_ramp: float = 500.0  # new slow streams per second
    prompt_sizes: tuple[int, ...] = (1_000, 100_000, 2_000_000)
    prompt_rate: float = 20.0
    key_counts: tuple[int, ...] = (1, 1_000, 100_000, 1_000_000)
    ledger_counts: tuple[int, ...] = (0, 1_000_000, 10_000_000)
    scale_rate: float = 200.0
    console_rows: int = 10_000_000  # ledger rows under the console (bench/console.py)
    console_keys: int = 100_000
    console_samples: int = 30  # timed loads of each console page
    cores: tuple[int, int] | None = (0, 1)  # (upstream + load generator, server under test)
    litellm: bool = True
    proposals: bool = True  # also measure bench/proposals/patched_gateway.py
    install: bool = True
    sections: tuple[str, ...] = ("compare", "slow", "prompt", "keys", "ledger", "console", "tracing", "workers")
    work_dir: Path = field(default_factory=lambda: Path("/tmp/opentoken-bench"))

    @classmethod
    def preset(cls, mode: str) -> Config:
        if mode == "full":
            return cls(mode="full", seconds=10.0)
        if mode == "quick":
            return cls(
                mode="quick",
                seconds=4.0,
                slow_streams=2_000,
                slow_seconds=20.0,
                key_counts=(1, 1_000, 100_000),
                ledger_counts=(0, 100_000, 1_000_000),
                console_rows=1_000_000,
                console_keys=100_000,
            )
        if mode == "smoke":  # seconds-long: checks that the harness works end to end
            return cls(
                mode="smoke",
                seconds=1.5,
                rates=(50, 200),
                slow_streams=200,
                slow_seconds=4.0,
                prompt_sizes=(1_000, 100_000),
                key_counts=(1, 1_000),
                ledger_counts=(0, 10_000),
                console_rows=20_000,
                console_keys=1_000,
                console_samples=5,
            )
        raise ValueError(f"unknown mode {mode!r}")


def prompt(size: int) -> str:
    """About ``size`` bytes of neutral text (no sandbox markers, no words that trigger tool calls)."""
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    return (words * (size // len(words) + 1))[: max(2, size)]


def openai_body(text: str, *, stream: bool, model: str = MODEL, max_tokens: int = MAX_TOKENS) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


def anthropic_body(text: str, *, stream: bool, max_tokens: int = MAX_TOKENS) -> bytes:
    body: dict[str, object] = {
        "model": UPSTREAM_MODEL,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


def openai_target(
    name: str, base: str, key: str | None, text: str = "hi", *, max_tokens: int = MAX_TOKENS, model: str = MODEL
) -> Target:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return Target(
        name,
        base + "/v1/chat/completions",
        headers,
        openai_body(text, stream=False, max_tokens=max_tokens, model=model),
        openai_body(text, stream=True, max_tokens=max_tokens, model=model),
    )


def direct_target(base: str, text: str = "hi", *, max_tokens: int = MAX_TOKENS) -> Target:
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
    return Target(
        "direct",
        base + "/v1/messages",
        headers,
        anthropic_body(text, stream=False, max_tokens=max_tokens),
        anthropic_body(text, stream=True, max_tokens=max_tokens),
    )
