"""The real gateway app (settings from the environment) plus one route with a bug, served as `serve` does.

    python tests/support/failing_gateway.py PORT

``GET /_bug`` raises ``RuntimeError`` before answering; ``GET /_bug_midway`` after its response started.
Used to check what a client sees when the gateway hits an unexpected error.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from opentoken.app import build_app
from opentoken.http.server import ServerLimits, gateway_protocol
from opentoken.settings import load_settings


async def bug(request: Request) -> Response:
    raise RuntimeError("a bug")


async def bug_midway(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("a bug after the first byte")

    return StreamingResponse(body())


def main() -> None:
    app = build_app(load_settings())
    app.router.routes.extend([Route("/_bug", bug), Route("/_bug_midway", bug_midway)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=int(sys.argv[1]), http=gateway_protocol(ServerLimits()), log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
