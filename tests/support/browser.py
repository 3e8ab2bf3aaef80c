"""Debian's Chromium driven by Playwright for the console's browser tests, with axe-core for accessibility
checks and screenshots written to ``tests/artifacts/console`` (ignored by git).

Playwright's own browser download cannot work here, so the tests launch ``/usr/bin/chromium`` (``.ci/run``
installs the ``chromium`` package when it is missing). Without it the tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "console"
AXE = Path(__file__).parent / "axe" / "axe-4.11.4.min.js"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{CHROMIUM} is missing (CI is set: the browser tests must run; .ci/run installs it)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, secret: str) -> None:
    page.goto(base + "/console/login")
    page.fill("#key", secret)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(base + "/console")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (evaluated through the
    DevTools protocol, so the page's CSP, which forbids injected scripts, stays on)."""
    page.evaluate(AXE.read_text("utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5], "help": v["help"]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> list[Path]:
    """``name``-desktop.png and ``name``-phone.png (390 px wide) of the page, full length."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        path = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        out.append(path)
    page.set_viewport_size(DESKTOP)
    return out


# Words that stay as they are on a Korean page: product, provider and protocol names, units, abbreviations.
KEPT_WORDS = {
    "OpenToken", "OpenAI", "API", "SDK", "URL", "UTC", "USD", "CSV", "PDF", "JSON", "GET", "POST", "ID",
    "Claude", "Gemini", "Anthropic", "Google", "Python", "JavaScript", "curl", "openai", "ms",
}  # fmt: skip

LEFTOVER_JS = """
() => {
  const skip = (el) => el.closest('[translate="no"], code, pre, script, style, noscript, select, textarea, [lang]:not(html)');
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement || skip(node.parentElement)) continue;
    if (node.parentElement.closest('[hidden]')) continue;
    found.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [data-confirm]')) {
    if (skip(el) && !el.matches('html')) continue;
    for (const name of ['aria-label', 'placeholder', 'title', 'data-confirm']) {
      if (el.hasAttribute(name)) found.push(el.getAttribute(name));
    }
  }
  return found;  // the <title> is a translated message followed by names (model, key): the catalog test covers it
}
"""


def english_left(page: Page) -> list[str]:
    """Latin words on the page that are neither kept names nor parts of ids, paths or numbers."""
    import re

    words = []
    for text in page.evaluate(LEFTOVER_JS):
        for token in text.split():
            if "/" in token or "_" in token or "." in token.strip(".,:;()") or "@" in token:
                continue  # ids, paths, file names, dotted numbers
            for word in re.findall(r"[A-Za-z]{2,}", token):
                if word not in KEPT_WORDS:
                    words.append(word)
    return words
