"""Routes built on their first use (``LazyRoutes``), and what a gateway that serves only the API leaves unloaded.

The second part is the idle-memory work of issue 16: the console (Jinja2 and its pages), aiohttp's server (only
for a separate metrics port), a WebSocket library, a file watcher and, on SQLite, SQLAlchemy's PostgreSQL
dialect are not imported by a started gateway.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, NoMatchFound, Route, Router
from starlette.types import Message

from opentoken.http.lazy import LazyRoutes
from support.servers import base_env


async def _ok(request: Request) -> Response:
    return PlainTextResponse(f"{request.method} {request.url.path}")


def _scope(method: str, path: str) -> dict[str, object]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
    }


async def _call(router: Router, method: str, path: str) -> tuple[int, bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await router(_scope(method, path), receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _lazy(built: list[int]) -> LazyRoutes:
    def build() -> list[Route]:
        built.append(1)
        return [
            Route("/a", _ok, methods=["POST"], name="a"),
            Route("/a", _ok, methods=["GET"], name="a_get"),
            Route("/b/{rest:path}", _ok, methods=["GET"], name="b"),
        ]

    return LazyRoutes(build)


async def test_built_once_on_the_first_request_that_reaches_it() -> None:
    built: list[int] = []
    lazy = _lazy(built)
    router = Router([Route("/first", _ok), lazy])
    assert await _call(router, "GET", "/first") == (200, b"GET /first")
    assert not built and not lazy.built  # a request matched before it does not build it
    assert await _call(router, "GET", "/b/x/y") == (200, b"GET /b/x/y")
    assert await _call(router, "POST", "/a") == (200, b"POST /a")
    assert built == [1] and lazy.built


async def test_a_full_match_beats_an_earlier_partial_one_and_a_wrong_method_is_405() -> None:
    router = Router([_lazy([])])
    assert await _call(router, "GET", "/a") == (200, b"GET /a")  # the first /a is POST only: partial
    status, _ = await _call(router, "DELETE", "/a")
    assert status == 405
    assert (await _call(router, "GET", "/nowhere"))[0] == 404
    match, _ = _lazy([]).matches(_scope("GET", "/nowhere"))
    assert match is Match.NONE


def test_url_path_for_reaches_the_inner_routes() -> None:
    lazy = _lazy([])
    assert lazy.url_path_for("b", rest="x/y") == "/b/x/y"
    try:
        lazy.url_path_for("missing")
    except NoMatchFound:
        pass
    else:
        raise AssertionError("an unknown name must raise NoMatchFound")


PROBE = """
import asyncio, json, sys
from opentoken.app import build_app
from opentoken.settings import load_settings

WATCHED = ("jinja2", "opentoken.web", "opentoken.web.routes", "aiohttp.web", "websockets", "watchfiles",
           "sqlalchemy.dialects.postgresql", "pydantic", "pydantic_settings")

async def get(app, path):
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": [(b"host", b"test")], "scheme": "http",
             "server": ("test", 80), "client": ("127.0.0.1", 1)}
    await app(scope, receive, send)
    return sent[0]["status"]

async def main():
    app = build_app(load_settings(database_url=sys.argv[1]))
    async with app.router.lifespan_context(app):
        started = [m for m in WATCHED if m in sys.modules]
        status = await get(app, "/models")
        after = [m for m in WATCHED if m in sys.modules]
    print(json.dumps({"started": started, "status": status, "after": after}))

asyncio.run(main())
"""


def test_a_started_gateway_loads_no_console_until_a_page_is_asked_for(tmp_path: Path) -> None:
    # provider keys, as a deployment has them: without, the embedded sandbox (an aiohttp server) would serve
    env = {**base_env(), "ANTHROPIC_API_KEY": "sk-ant-x", "GEMINI_API_KEY": "g-x"}
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    for _ in range(2):  # the first start migrates the new database (Alembic loads both dialects); a restart
        out = subprocess.run(
            [sys.executable, "-c", PROBE, url], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["started"] == []
    assert seen["status"] == 200  # the public models page, built on this first request
    assert {"jinja2", "opentoken.web", "opentoken.web.routes"} <= set(seen["after"])
    never = {"aiohttp.web", "websockets", "watchfiles", "sqlalchemy.dialects.postgresql", "pydantic"}
    assert not never & set(seen["after"])  # pydantic: the settings are a msgspec struct (10 MB of idle RSS)
