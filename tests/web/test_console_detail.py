"""A request's detail in the console shows what the pipeline recorded for it: the deployment that answered,
the deployments tried, and the request fields the gateway ignored."""

from __future__ import annotations

import httpx2 as httpx

from support.servers import Gateway
from web.conftest import create_key
from web.test_console_security import _login, _main


def test_request_detail_shows_deployments_and_ignored_parameters(gateway: Gateway) -> None:
    key = create_key(gateway, "detail check")
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"authorization": f"Bearer {key['key']}"},
        json={
            "model": "anthropic/claude-sonnet-4-6",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 8,
            "some_future_field": 1,
        },
        timeout=30,
    )
    assert r.status_code == 200 and "some_future_field" in r.headers["x-opentoken-ignored-params"]
    operator = _login(gateway.url, gateway.admin_key)
    page = _main(operator.get(f"/console/requests/{r.headers['x-request-id']}").text)
    assert "anthropic-default" in page  # the deployment that answered, and the one tried
    assert page.count("anthropic-default") >= 2
    assert "some_future_field" in page
    assert "openai_chat" in page
