"""An OTLP/HTTP sink for the tracing benchmark: accepts every export (``POST /v1/traces``, ``/v1/metrics``),
counts requests and bytes, and drops them. ``GET /count`` answers the counts as JSON.

    python -m bench.otlp_sink --port 4318
"""

from __future__ import annotations

import argparse
from collections import Counter

from aiohttp import web

EMPTY_REPLY = b""  # an empty Export*ServiceResponse (all fields default) encodes to no bytes


def app() -> web.Application:
    counts: Counter[str] = Counter()

    async def export(request: web.Request) -> web.Response:
        body = await request.read()
        counts[request.path] += 1
        counts[request.path + ":bytes"] += len(body)
        return web.Response(body=EMPTY_REPLY, content_type="application/x-protobuf")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    application = web.Application(client_max_size=64 * 1024 * 1024)
    application.router.add_post("/v1/traces", export)
    application.router.add_post("/v1/metrics", export)
    application.router.add_get("/count", count)
    application.router.add_get("/healthz", health)
    return application


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.otlp_sink")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    web.run_app(app(), host="127.0.0.1", port=a.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
