"""Session fixtures: one sandbox upstream and one gateway process shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from support.leaks import PROVIDER_KEYS, leaked
from support.openai_schema import validate_exchange
from support.recording import Recorder, RecordingTransport
from support.servers import Gateway, gateway_env, gateway_process, sandbox_process


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    with sandbox_process() as url:
        yield url


@pytest.fixture(scope="session")
def gateway(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir: Path = tmp_path_factory.mktemp("gateway")
    log = data_dir / "gateway.log"
    with gateway_process(gateway_env(data_dir, sandbox_url), log=log) as gw:
        yield gw
    # every line the shared gateway wrote during the whole suite: no key of any test, no admin or provider key
    hits = leaked(log, [gw.key, gw.admin_key, *PROVIDER_KEYS])
    assert not hits, f"secrets in the gateway's log ({log}): {hits[:5]}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(gateway: Gateway, recorder: Recorder) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK pointed at the gateway; every response it gets is schema-validated."""
    http = httpx.Client(transport=RecordingTransport(recorder), timeout=60)
    yield openai.OpenAI(base_url=gateway.v1, api_key=gateway.key, http_client=http, max_retries=0)
    checked = sum(validate_exchange(e.path, e.status, e.content_type, e.body) for e in recorder.exchanges)
    assert checked or not recorder.exchanges, "responses were recorded but none could be validated"
    http.close()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[httpx.Client]:
    """An HTTP client on the sandbox control API; the request log is cleared before each test."""
    with httpx.Client(base_url=sandbox_url, timeout=10) as c:
        c.delete("/_sandbox/requests")
        yield c
