"""Graceful shutdown: SIGTERM while streams are in flight (real gateway processes, a paced sandbox)."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from support.reliability import sdk
from support.servers import Gateway, gateway_env, gateway_process, sandbox_process

STORY = [{"role": "user", "content": "Tell me a long story about a lighthouse."}]


@pytest.fixture(scope="module")
def paced() -> Iterator[str]:
    with sandbox_process(tokens_per_second="10") as url:
        yield url


class Streamer(threading.Thread):
    """Streams one completion; ``started`` is set at the first chunk."""

    def __init__(self, gw: Gateway, max_tokens: int) -> None:
        super().__init__(daemon=True)
        self.client = sdk(gw)
        self.max_tokens = max_tokens
        self.started = threading.Event()
        self.text = ""
        self.finish: str | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            chunks = self.client.chat.completions.create(
                model="anthropic/claude-sonnet-4-6", messages=STORY, stream=True, max_tokens=self.max_tokens
            )
            for chunk in chunks:
                self.started.set()
                for choice in chunk.choices:
                    self.text += choice.delta.content or ""
                    self.finish = choice.finish_reason or self.finish
        except (openai.APIError, openai.APIConnectionError) as e:
            self.error = e
        finally:
            self.started.set()


def ledger_rows(data_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(data_dir / "gw.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM usage_ledger ORDER BY id")]


def start_streams(gw: Gateway, n: int, max_tokens: int) -> list[Streamer]:
    streams = [Streamer(gw, max_tokens) for _ in range(n)]
    for s in streams:
        s.start()
    for s in streams:
        assert s.started.wait(10)
    return streams


def test_sigterm_lets_streams_finish_and_exits_0(paced: str, tmp_path: Path) -> None:
    env = gateway_env(tmp_path, paced, OPENTOKEN_DRAIN_SECONDS="10")
    with gateway_process(env) as gw:
        streams = start_streams(gw, 3, max_tokens=12)  # about 1.2 s each at 10 tokens/s
        gw.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        time.sleep(0.3)
        with pytest.raises(openai.APIConnectionError):  # no longer accepting
            sdk(gw, timeout=2).chat.completions.create(model="google/gemini-3-flash", messages=STORY)
        for s in streams:
            s.join(10)
        assert gw.proc.wait(10) == 0
        assert time.monotonic() - sent < 5
    for s in streams:
        assert s.error is None and s.finish == "length" and s.text
    rows = ledger_rows(tmp_path)
    assert len(rows) == 3
    assert all(r["status"] == 200 and r["error_code"] is None and r["output_tokens"] == 12 for r in rows)


def test_drain_deadline_cuts_what_is_left_and_still_exits_0(paced: str, tmp_path: Path) -> None:
    env = gateway_env(tmp_path, paced, OPENTOKEN_DRAIN_SECONDS="1")
    with gateway_process(env) as gw:
        (stream,) = start_streams(gw, 1, max_tokens=400)  # 40 s at 10 tokens/s
        gw.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        assert gw.proc.wait(10) == 0
        assert time.monotonic() - sent < 4  # a 1 s drain, then the ledger flush and exit
        stream.join(5)
    assert stream.finish is None  # cut short
    (row,) = ledger_rows(tmp_path)
    assert (row["status"], row["error_code"], row["attempts"]) == (503, "gateway_shutdown", 1)
    assert row["input_tokens"] > 0
