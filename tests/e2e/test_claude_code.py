"""Claude Code itself (npm ``@anthropic-ai/claude-code``, the version pinned in ``.ci/claude-code.sh``) in print
mode against the gateway and the sandbox: it answers on a Claude model (passed through) and on a Gemini model
(translated), and on both it calls a tool (Read on a file in a temporary folder) and answers from the result."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from support.servers import Gateway

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]
SECRET = "The secret word is periwinkle."


@pytest.fixture(scope="module")
def claude_bin() -> str:
    """The pinned Claude Code, installed into the cache folder CI shares (``.ci/claude-code.sh``)."""
    out = subprocess.run(["bash", str(ROOT / ".ci" / "claude-code.sh")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "work").mkdir()
    (tmp_path / "home").mkdir()
    yield tmp_path


def run_claude(
    claude_bin: str, gateway: Gateway, workdir: Path, prompt: str, model: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir / "home"),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": gateway.key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    args = [claude_bin, "-p", prompt, "--model", model, "--allowedTools", "Read"]
    return subprocess.run(args, env=env, cwd=workdir / "work", capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("model", MODELS)
def test_claude_code_answers(
    claude_bin: str, gateway: Gateway, sandbox: httpx.Client, workdir: Path, model: str
) -> None:
    done = run_claude(claude_bin, gateway, workdir, "Say hello", model)
    assert done.returncode == 0, done.stderr
    assert "Sandbox reply" in done.stdout or "tool" in done.stdout
    logged = sandbox.get("/_sandbox/requests").json()["requests"]
    assert logged and logged[0]["status"] == 200
    if model.startswith("anthropic/"):  # passed through: Claude Code's own request reached the provider
        first = logged[0]
        assert first["path"] == "/v1/messages" and first["body"]["model"].startswith("claude-sonnet")
        assert "claude-code-20250219" in first["headers"]["anthropic-beta"]
        assert first["body"]["thinking"]["type"] in ("enabled", "adaptive")
    else:
        assert logged[0]["path"].startswith("/v1beta/models/gemini-3-flash")


@pytest.mark.parametrize("model", MODELS)
def test_claude_code_reads_a_file_and_uses_it(
    claude_bin: str, gateway: Gateway, sandbox: httpx.Client, workdir: Path, model: str
) -> None:
    notes = workdir / "work" / "notes.txt"
    notes.write_text(SECRET + "\n")
    call = json.dumps({"file_path": str(notes)})
    done = run_claude(
        claude_bin, gateway, workdir, f"Read the notes file and tell me the secret word [[call:Read {call}]]", model
    )
    assert done.returncode == 0, done.stderr
    assert "The Read tool returned" in done.stdout and "periwinkle" in done.stdout
    logged = sandbox.get("/_sandbox/requests").json()["requests"]
    assert len([r for r in logged if r["status"] == 200]) >= 2  # the tool call, then the answer from its result
