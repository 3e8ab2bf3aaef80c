"""The console in a real browser (Debian's Chromium) against the session's gateway and sandbox processes:
the models page, a key holder's playground call, the operator's key management, and every page checked by
axe-core, screenshotted on a desktop and a 390 px phone, and, in Korean, free of English."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx2 as httpx
import openai
import pytest
from playwright.sync_api import BrowserContext, Page

from support.browser import axe_violations, english_left, screenshot, sign_in
from support.servers import Gateway
from web.conftest import admin, create_key

MODEL = "anthropic/claude-sonnet-4-6"


def _rows(page: Page) -> list[str]:
    return [r.get_attribute("data-model") or "" for r in page.locator("#models tbody tr").all()]


def test_models_page_shows_the_api_catalog_and_keeps_its_view_in_the_url(
    gateway: Gateway, context: BrowserContext
) -> None:
    api = httpx.get(gateway.v1 + "/models", headers={"authorization": f"Bearer {gateway.key}"}).json()["data"]
    expected = {m["id"]: tuple(m["pricing"]["per_million"][k] for k in ("input", "output")) for m in api}
    page = context.new_page()
    page.goto(gateway.url + "/")
    page.click("a[href='/models'].button")
    assert page.url == gateway.url + "/models"
    shown = {}
    for row in page.locator("#models tbody tr").all():
        cells = tuple(row.locator(f".price-{k} data").get_attribute("value") for k in ("input", "output"))
        shown[row.get_attribute("data-model")] = cells
    assert shown == expected

    page.check("input[name=provider][value=google]")
    page.click("form.filters button[type=submit]")
    assert "provider=google" in page.url
    google = _rows(page)
    assert google and all(m.startswith("google/") for m in google)

    page.select_option("#sort", "price")
    page.click("form.filters button[type=submit]")
    assert "sort=price" in page.url
    prices = [Decimal(expected[m][0]) for m in _rows(page)]
    assert prices == sorted(prices) and len(prices) == len(google)

    page.fill("#q", "flash")
    page.click("form.filters button[type=submit]")
    assert "q=flash" in page.url
    flash = _rows(page)
    assert flash and all("flash" in m and m.startswith("google/") for m in flash) and len(flash) < len(google)

    again = context.new_page()
    again.goto(page.url)  # a shared URL reopens the same view
    assert _rows(again) == flash and again.input_value("#q") == "flash"
    assert again.is_checked("input[name=provider][value=google]")

    page.click("nav.segmented a:nth-child(2)")  # cards, same filters
    assert "view=cards" in page.url and "q=flash" in page.url
    assert [c.get_attribute("data-model") for c in page.locator("#models > li").all()] == flash

    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    page.locator(f"[data-model='{flash[0]}'] button.copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == flash[0]


def test_key_holder_runs_a_streaming_playground_call_and_sees_it_metered(
    gateway: Gateway, context: BrowserContext
) -> None:
    key = create_key(gateway, "playground holder", budget_usd="5", budget_period="daily")
    page = context.new_page()
    sign_in(page, gateway.url, key["key"])
    assert key["key"] not in page.content() and key["key"] not in page.url
    page.click("nav.nav a[href='/console/playground']")
    page.select_option("#pg-model", MODEL)
    page.fill("#pg-system", "Answer briefly.")
    page.fill("#pg-message", "Name three uses for a paperclip.")
    page.click("#pg-send")
    page.wait_for_selector("#pg-usage:not([hidden])", timeout=20_000)
    assert "Sandbox reply" in page.inner_text("#pg-conversation")
    cost = Decimal(page.get_attribute("#pg-cost", "data-value") or "nan")
    request_id = page.inner_text("#pg-request")
    assert cost > 0 and request_id.startswith("req_")

    with admin(gateway) as c:
        (row,) = c.get("/requests", params={"key_id": key["id"], "limit": 10}).json()["data"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        usage = c.get("/usage", params={"key_id": key["id"], "since": today}).json()["total"]
    assert row["request_id"] == request_id and row["stream"] is True and Decimal(row["cost"]) == cost
    assert Decimal(usage["cost"]) == cost

    page.click("nav.nav a[href='/console/requests']")
    listed = page.locator(f"tr[data-request='{request_id}']")
    assert listed.count() == 1 and Decimal(listed.locator("data.usd").get_attribute("value") or "nan") == cost
    listed.locator("a").first.click()
    assert Decimal(page.locator("#request-cost data").get_attribute("value") or "nan") == cost
    page.click("nav.nav a[href='/console']")
    assert Decimal(page.locator("#today-spend data").get_attribute("value") or "nan") == cost


def _sdk(secret: str, gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=secret, max_retries=0)


def _chat(client: openai.OpenAI, model: str = MODEL) -> str:
    resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=16)
    return resp.choices[0].message.content or ""


def _until(error: type[Exception], call: object, limit: float = 1.0) -> float:
    """Seconds until ``call()`` raises ``error`` (polled); fails after ``limit`` seconds."""
    start = time.monotonic()
    while True:
        try:
            call()  # type: ignore[operator]
        except error:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            pytest.fail(f"no {error.__name__} within {limit} s")
        time.sleep(0.02)


def test_operator_creates_edits_and_revokes_a_key_that_the_sdk_uses(gateway: Gateway, context: BrowserContext) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, gateway.url, gateway.admin_key)
    page.click("nav.nav a[href='/console/keys']")
    page.click("a[href='/console/keys/new']")
    page.fill("#f-name", "made in the console")
    page.fill("#f-owner", "qa team")
    page.click("form.stack button[type=submit]")
    secret = page.input_value("#secret")
    assert secret.startswith("ot-")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    page.click(".secret button.copy")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    client = _sdk(secret, gateway)
    assert "Sandbox reply" in _chat(client)

    page.click("text=Go to the key")
    assert secret not in page.content()
    page.fill("#f-models", "google/*")
    page.fill("#f-rpm", "2")
    page.click("form.stack button[type=submit] >> nth=0")
    assert "saved=1" in page.url and page.input_value("#f-models") == "google/*"
    assert _until(openai.PermissionDeniedError, lambda: _chat(client)) < 1.0  # model patterns enforced
    _chat(client, "google/gemini-3-flash")
    with pytest.raises(openai.RateLimitError):  # rpm 2: the third request in the minute is refused
        for _ in range(3):
            _chat(client, "google/gemini-3-flash")

    page.click("form[action$='/revoke'] button")
    assert "revoked=1" in page.url
    assert _until(openai.AuthenticationError, lambda: _chat(client, "google/gemini-3-flash")) < 1.0


def _pages(gateway: Gateway) -> tuple[list[tuple[str, str, str]], str, str]:
    """(name, who, path) of every page, after some traffic for them to show; and the two keys' secrets."""
    holder = create_key(gateway, "page tour", budget_usd="20", budget_period="monthly", rpm=1000)
    client = _sdk(holder["key"], gateway)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hello"}], max_tokens=32
    )
    request_id = raw.headers["x-request-id"]
    _chat(client, "google/gemini-3-flash")
    pages = [
        ("home", "anon", "/"),
        ("models", "anon", "/models"),
        ("models-cards", "anon", "/models?view=cards"),
        ("model", "anon", "/models/" + MODEL),
        ("login", "anon", "/console/login"),
        ("holder-overview", "key", "/console"),
        ("holder-requests", "key", "/console/requests"),
        ("holder-request", "key", f"/console/requests/{request_id}"),
        ("holder-playground", "key", "/console/playground"),
        ("operator-overview", "admin", "/console"),
        ("operator-usage", "admin", "/console/usage"),
        ("operator-keys", "admin", "/console/keys"),
        ("operator-key", "admin", f"/console/keys/{holder['id']}"),
        ("operator-key-new", "admin", "/console/keys/new"),
        ("operator-requests", "admin", "/console/requests"),
        ("operator-request", "admin", f"/console/requests/{request_id}"),
        ("operator-deployments", "admin", "/console/deployments"),
        ("operator-catalog", "admin", "/console/catalog"),
    ]
    return pages, holder["key"], gateway.admin_key


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_page_is_accessible_translated_and_screenshotted(gateway: Gateway, browser: object, lang: str) -> None:
    pages, holder, operator = _pages(gateway)
    contexts = {}
    for who, secret in (("anon", None), ("key", holder), ("admin", operator)):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR" if lang == "ko" else "en-US")  # type: ignore[attr-defined]
        page = ctx.new_page()
        if secret:
            sign_in(page, gateway.url, secret)
        contexts[who] = (ctx, page)
    problems: dict[str, object] = {}
    try:
        for name, who, path in pages:
            page = contexts[who][1]
            response = page.goto(gateway.url + path)
            assert response is not None and response.status == 200, (name, response and response.status)
            assert page.locator("html").get_attribute("lang") == lang
            violations = axe_violations(page)
            if violations:
                problems[f"{name}: axe"] = violations
            if lang == "ko":
                left = english_left(page)
                if left:
                    problems[f"{name}: English left"] = sorted(set(left))
            screenshot(page, f"{name}-{lang}")
    finally:
        for ctx, _ in contexts.values():
            ctx.close()
    assert not problems, problems
