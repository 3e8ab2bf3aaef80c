"""The console's safety, over plain HTTP against real gateway processes: session cookie flags, CSP, CSRF,
tenancy (URL tampering), the key never echoed, sign-in throttling, and operator pages only with an admin key."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from support.servers import Gateway, gateway_env, gateway_process
from web.conftest import create_key

MODEL = "anthropic/claude-sonnet-4-6"


def _login(base: str, secret: str) -> httpx.Client:
    """A client signed in with ``secret``; cookies are carried by hand, so Secure ones work over HTTP too."""
    form = httpx.get(base + "/console/login", timeout=30)
    login_cookie = form.cookies["ot_login"]
    r = httpx.post(
        base + "/console/login",
        data={"csrf": _csrf(form.text), "key": secret, "next": "/console"},
        headers={"cookie": f"ot_login={login_cookie}"},
        follow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, r.text[:300]
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    client.headers["cookie"] = f"ot_session={r.cookies['ot_session']}"
    client.set_cookie_header = r.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return client


def _session_cookie(client: httpx.Client) -> str:
    return str(next(h for h in client.set_cookie_header if h.startswith("ot_session=")))  # type: ignore[attr-defined]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _main(page: str) -> str:
    """The page's own content (the header echoes the URL in the language switch's links)."""
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def _call(gateway: Gateway, secret: str) -> str:
    r = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"authorization": f"Bearer {secret}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8},
        timeout=30,
    )
    r.raise_for_status()
    return r.headers["x-request-id"]


def test_session_cookie_headers_and_the_secret_never_echoed(gateway: Gateway) -> None:
    key = create_key(gateway, "cookie check")
    client = _login(gateway.url, key["key"])
    header = _session_cookie(client).lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    assert "secure" not in header.replace("samesite", "")  # plain HTTP, OPENTOKEN_COOKIE_SECURE unset
    cookie_value = client.headers["cookie"].removeprefix("ot_session=")
    for path in ("/console", "/console/requests", "/console/playground", "/models"):
        r = client.get(path)
        assert r.status_code == 200
        assert key["key"] not in r.text and key["key"] not in str(r.url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert "<script>" not in r.text and " style=" not in r.text  # nothing inline for the CSP to allow
    assert client.get("/console").headers["cache-control"] == "no-store"
    db = Path(gateway.env["OPENTOKEN_DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT id_hash, csrf FROM console_sessions").fetchall()
    session_id = cookie_value.split(".")[0]
    assert stored and all(session_id not in row[0] for row in stored)  # only the hash is kept
    assert key["key"] not in db.read_bytes().decode("latin-1")
    r = client.post("/console/logout", data={"csrf": _csrf(client.get("/console").text)})
    assert r.status_code == 303
    stale = httpx.get(
        gateway.url + "/console", headers={"cookie": f"ot_session={cookie_value}"}, follow_redirects=False
    )
    assert stale.status_code == 303 and stale.headers["location"].startswith("/console/login")


def test_a_key_holder_sees_only_their_own_key(gateway: Gateway) -> None:
    mine, theirs = create_key(gateway, "tenant a"), create_key(gateway, "tenant b")
    my_request, their_request = _call(gateway, mine["key"]), _call(gateway, theirs["key"])
    client = _login(gateway.url, mine["key"])
    assert client.get(f"/console/requests/{my_request}").status_code == 200
    assert client.get(f"/console/requests/{their_request}").status_code == 404
    tampered = client.get("/console/requests", params={"key_id": theirs["id"]}).text
    assert re.findall(r'data-request="([^"]+)"', tampered) == [my_request]  # their key id in the URL is ignored
    table = tampered.split('id="requests"', 1)[1]
    assert their_request not in table and theirs["id"] not in table
    for path in (f"/console/keys/{theirs['id']}", "/console/keys", "/console/usage", "/console/usage.csv",
                 "/console/deployments", "/console/catalog"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 404 and theirs["id"] not in _main(r.text), path
    page = client.get("/console").text
    assert client.post(f"/console/keys/{theirs['id']}/revoke", data={"csrf": _csrf(page)}).status_code == 404
    assert httpx.get(gateway.v1 + "/key", headers={"authorization": f"Bearer {theirs['key']}"}).status_code == 200


def test_state_changing_forms_need_their_csrf_token(gateway: Gateway) -> None:
    key = create_key(gateway, "csrf target")
    operator = _login(gateway.url, gateway.admin_key)
    for data in ({}, {"csrf": "forged"}):
        r = operator.post(f"/console/keys/{key['id']}/revoke", data=data)
        assert r.status_code == 403
    assert httpx.get(gateway.v1 + "/key", headers={"authorization": f"Bearer {key['key']}"}).status_code == 200
    holder = _login(gateway.url, key["key"])
    r = holder.post("/console/playground/chat", json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 403
    login_form = httpx.post(gateway.url + "/console/login", data={"key": key["key"]})
    assert login_form.status_code == 403  # the sign-in form has its own (double-submit) token
    token = _csrf(operator.get(f"/console/keys/{key['id']}").text)
    assert operator.post(f"/console/keys/{key['id']}/revoke", data={"csrf": token}).status_code == 303


def test_a_revoked_key_ends_its_console_session(gateway: Gateway) -> None:
    key = create_key(gateway, "revoked holder")
    client = _login(gateway.url, key["key"])
    assert client.get("/console").status_code == 200
    operator = _login(gateway.url, gateway.admin_key)
    token = _csrf(operator.get(f"/console/keys/{key['id']}").text)
    operator.post(f"/console/keys/{key['id']}/revoke", data={"csrf": token})
    r = client.get("/console")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


@pytest.fixture(scope="module")
def plain_gateway(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway without OPENTOKEN_ADMIN_KEY, with Secure cookies forced on (its own process, so the
    sign-in failures counted here do not touch the session's gateway)."""
    env = gateway_env(
        tmp_path_factory.mktemp("plain"), sandbox_url, OPENTOKEN_ADMIN_KEY="", OPENTOKEN_COOKIE_SECURE="true"
    )
    with gateway_process(env) as gw:
        yield gw


def test_operator_pages_exist_only_with_an_admin_key(plain_gateway: Gateway) -> None:
    client = _login(plain_gateway.url, plain_gateway.key)
    assert "; secure" in _session_cookie(client).lower()  # OPENTOKEN_COOKIE_SECURE
    for path in ("/console/keys", "/console/usage", "/console/deployments", "/console/catalog"):
        assert client.get(path).status_code == 404
    form = httpx.get(plain_gateway.url + "/console/login")
    r = httpx.post(
        plain_gateway.url + "/console/login",
        data={"csrf": _csrf(form.text), "key": "admin-test-key"},
        headers={"cookie": f"ot_login={form.cookies['ot_login']}"},
    )
    assert r.status_code == 401 and "Operator" not in r.text


def test_repeated_failed_sign_ins_are_slowed_then_refused(plain_gateway: Gateway) -> None:
    form = httpx.get(plain_gateway.url + "/console/login")
    client = httpx.Client(base_url=plain_gateway.url, timeout=60, follow_redirects=False)
    client.headers["cookie"] = f"ot_login={form.cookies['ot_login']}"
    token = _csrf(form.text)
    statuses, seconds = [], []
    for i in range(11):
        start = time.monotonic()
        r = client.post("/console/login", data={"csrf": token, "key": f"ot-wrong-{i}"})
        seconds.append(time.monotonic() - start)
        statuses.append(r.status_code)
        assert plain_gateway.key not in r.text
        if r.status_code == 429:
            break
    # (one failure may already be counted: the test above tried the admin key on this gateway)
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401} and len(statuses) >= 10
    assert int(r.headers["retry-after"]) > 0
    assert min(seconds[4:-1]) >= 0.5  # after a few failures each attempt is held back (a lower bound)
    refused = client.post("/console/login", data={"csrf": token, "key": plain_gateway.key})
    assert refused.status_code == 429  # even the right key waits out the refusal
