"""Every recorded request that the real API answered with 200 is answered with 200 by the sandbox."""

from __future__ import annotations

import json

import pytest

from support.fixtures import ANTHROPIC, GEMINI

# Its tool_result answers a tool_use id of another cassette (see tests/fixtures/upstream/README.md, Caveats).
_STITCHED = {"stream_tool_result_followup.json"}


def _recorded(folder) -> list[str]:
    names = []
    for path in sorted(folder.glob("*.json")):
        if json.loads(path.read_text())["response"]["status"] == 200 and path.name not in _STITCHED:
            names.append(path.name)
    return names


@pytest.mark.parametrize("name", _recorded(ANTHROPIC))
async def test_recorded_anthropic_requests(sbx, upstream, name) -> None:
    request = upstream(f"anthropic/{name}")["request"]
    headers = {k: v for k, v in request["headers"].items() if k.lower() not in ("content-type", "accept")}
    reply = await sbx.anthropic(
        request["body"], headers={**headers, "x-api-key": "k", "anthropic-version": "2023-06-01"}
    )
    assert reply.status == 200, reply.text


@pytest.mark.parametrize("name", _recorded(GEMINI))
async def test_recorded_gemini_requests(sbx, upstream, name) -> None:
    request = upstream(f"gemini/{name}")["request"]
    path = "/v1beta" + request["path"].split("/v1beta", 1)[1] + (f"?{request['query']}" if request.get("query") else "")
    reply = await sbx.post(path, request["body"], {"x-goog-api-key": "k"})
    assert reply.status == 200, reply.text
