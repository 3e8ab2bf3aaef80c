"""Fixtures of the console tests: the session's gateway (tests/conftest.py), a Chromium, and helpers to
create keys and make calls through the admin API and the openai SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, BrowserContext

from support.browser import DESKTOP, chromium
from support.servers import Gateway


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API holds an event loop while it runs, which the
    asyncio tests that come after must not find."""
    with chromium() as b:
        yield b


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US")
    yield ctx
    ctx.close()


def admin(gateway: Gateway) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url + "/admin/v1", headers={"authorization": f"Bearer {gateway.admin_key}"}, timeout=30
    )


def create_key(gateway: Gateway, name: str, **fields: Any) -> dict[str, Any]:
    with admin(gateway) as c:
        r = c.post("/keys", json={"name": name, **fields})
        r.raise_for_status()
        out: dict[str, Any] = r.json()
        return out
