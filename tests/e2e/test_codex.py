"""Codex CLI itself (``codex exec``, pinned) against the gateway and the sandbox, on a Claude and a Gemini model.

Codex speaks only the Responses API, stateless (``store: false``, ``include: ["reasoning.encrypted_content"]``),
with its full tool list (function, namespace and web_search tools). The prompt asks for ``get_goal`` (a Codex
tool with no arguments, so the sandbox's schema-derived arguments are ones Codex accepts): Codex runs it,
sends its output back, and the answer quotes it. With reasoning on, the second request only works if the
provider state came back through the sealed ``encrypted_content`` of Codex's history.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from support.codex import install_codex
from support.servers import Gateway

MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]


@pytest.fixture(scope="module")
def codex() -> Path:
    try:
        return install_codex()
    except RuntimeError as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Codex CLI is needed in CI: {e}")
        pytest.skip(str(e))


def run_codex(codex: Path, gateway: Gateway, tmp_path: Path, model: str, prompt: str) -> list[dict[str, Any]]:
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "opentoken"\n'
        'model_reasoning_effort = "high"\n'
        "[model_providers.opentoken]\n"
        'name = "OpenToken"\n'
        f'base_url = "{gateway.v1}"\n'
        'env_key = "OPENTOKEN_API_KEY"\n'
        'wire_api = "responses"\n'
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "CODEX_HOME": str(home), "OPENTOKEN_API_KEY": gateway.key}
    done = subprocess.run(
        [
            str(codex),
            "exec",
            "--skip-git-repo-check",
            "--json",
            "--dangerously-bypass-approvals-and-sandbox",
            "-C",
            str(work),
            prompt,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("model", MODELS)
def test_codex_exec_runs_a_tool_and_uses_its_result(
    codex: Path, gateway: Gateway, sandbox: httpx.Client, tmp_path: Path, model: str
) -> None:
    events = run_codex(codex, gateway, tmp_path, model, "Use get_goal, then tell me what it returned.")
    kinds = [e["type"] for e in events]
    assert "turn.completed" in kinds and "turn.failed" not in kinds and "error" not in kinds, events
    messages = [
        e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
    ]
    assert any("get_goal tool returned" in m and '"goal":null' in m for m in messages), messages
    usage = next(e["usage"] for e in events if e["type"] == "turn.completed")
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0 and "reasoning_output_tokens" in usage

    provider = "anthropic" if model.startswith("anthropic/") else "google"
    sent = [r["body"] for r in sandbox.get("/_sandbox/requests", params={"provider": provider}).json()["requests"]]
    assert len(sent) == 2, "one request for the tool call, one with its result"
    body = json.dumps(sent[1])
    assert "remainingTokens" in body  # the tool's output went back to the model
    if provider == "anthropic":
        names = {t["name"] for t in sent[0]["tools"]}
        assert {"exec_command", "get_goal", "multi_agent_v1__spawn_agent"} <= names  # namespace flattened
        assistant = next(m for m in sent[1]["messages"] if m["role"] == "assistant")
        assert assistant["content"][0]["type"] == "thinking" and assistant["content"][0]["signature"]
    else:
        names = {d["name"] for t in sent[0]["tools"] for d in t.get("functionDeclarations", [])}
        assert {"exec_command", "get_goal", "multi_agent_v1__spawn_agent"} <= names
        calls = [p for c in sent[1]["contents"] if c["role"] == "model" for p in c["parts"] if "functionCall" in p]
        assert calls[0]["thoughtSignature"] != "skip_thought_signature_validator"  # the real one, sealed and back


@pytest.mark.parametrize("model", MODELS)
def test_codex_exec_runs_a_shell_command_and_uses_its_output(
    codex: Path, gateway: Gateway, sandbox: httpx.Client, tmp_path: Path, model: str
) -> None:
    """The sandbox's ``[[call:NAME {args}]]`` marker makes the model call Codex's ``exec_command`` with exactly
    this command; the shell computes 6*7, which only a real run of the command can put in the answer."""
    prompt = 'Run it. [[call:exec_command {"cmd": "echo OPENTOKEN-SHELL-$((6*7))"}]]'
    events = run_codex(codex, gateway, tmp_path, model, prompt)
    ran = [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "command_execution"]
    assert ran and "OPENTOKEN-SHELL-42" in ran[0]["aggregated_output"] and ran[0]["exit_code"] == 0, events
    messages = [
        e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
    ]
    assert any("exec_command tool returned" in m and "OPENTOKEN-SHELL-42" in m for m in messages), messages
    provider = "anthropic" if model.startswith("anthropic/") else "google"
    sent = [r["body"] for r in sandbox.get("/_sandbox/requests", params={"provider": provider}).json()["requests"]]
    assert len(sent) == 2 and "OPENTOKEN-SHELL-42" in json.dumps(sent[1])
